// The articles' worked examples, every intermediate value printed: a single ReLU neuron, and one
// step of gradient descent on a 2-3-1 sigmoid network with loss 1/2 (y - y_hat)^2. The network's
// numbers are computed twice — by the chain rule written out, and by nabla's autograd — and must
// agree. Two slips of the article's printed arithmetic are corrected here, and said where:
//   - the output layer's sum z2 is taken over the hidden activations a1 (the article used a2,
//     the output, before it existed);
//   - dL/dy_hat = -(y - y_hat) = y_hat - y (the article printed y - y_hat, which would make the
//     update climb the loss instead of descending it).
// The weights below are set here (the article's own values are not at hand in this repository);
// change the table to follow any other worked example.
#include <cmath>
#include <cstdio>

#include "nabla/nabla.h"

using namespace nabla;

namespace {

double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }

void print_row(const char* name, const std::vector<float>& values) {
  std::printf("  %-22s", name);
  for (float v : values) std::printf(" % .6f", v);
  std::printf("\n");
}

}  // namespace

int main() {
  std::printf("== A single ReLU neuron ==\n");
  {
    Tensor w = tensor({2, 3}), b = tensor({1}), x = tensor({1, 2});
    Tensor z = add(sum(mul(w, x)), b);
    std::printf("  w = [2, 3], b = 1, x = [1, 2]\n  z = 2*1 + 3*2 + 1 = %.0f\n  relu(z) = %.0f\n", z.item(),
                relu(z).item());
  }

  std::printf("\n== One gradient step on a 2-3-1 sigmoid network, loss 1/2 (y - y_hat)^2, lr 0.1 ==\n");
  const std::vector<float> x_values = {0.05f, 0.10f}, w1_values = {0.15f, 0.20f, 0.25f, 0.30f, 0.35f, 0.40f},
                           b1_values = {0.35f, 0.35f, 0.35f}, w2_values = {0.40f, 0.45f, 0.50f};
  const float b2_value = 0.60f, y = 0.99f, lr = 0.1f;
  Tensor x = tensor(x_values, {2});
  Tensor w1 = tensor(w1_values, {3, 2}).requires_grad_(), b1 = tensor(b1_values, {3}).requires_grad_();
  Tensor w2 = tensor(w2_values, {1, 3}).requires_grad_(), b2 = tensor({b2_value}, {1}).requires_grad_();
  std::printf("  inputs x = [%.2f, %.2f], target y = %.2f\n", x_values[0], x_values[1], y);
  print_row("W1 (3x2, by row)", w1_values);
  print_row("b1", b1_values);
  print_row("W2 (1x3)", w2_values);
  print_row("b2", {b2_value});

  // Forward, with autograd.
  Tensor z1 = add(matmul(w1, x), b1);
  Tensor a1 = sigmoid(z1);
  Tensor z2 = add(matmul(w2, a1), b2);  // over a1, the hidden activations
  Tensor y_hat = sigmoid(z2);
  Tensor loss = mul(pow(sub(tensor({y}), y_hat), 2.0), 0.5).sum();
  std::printf("\n  forward\n");
  print_row("z1 = W1 x + b1", z1.to_vector<float>());
  print_row("a1 = sigmoid(z1)", a1.to_vector<float>());
  print_row("z2 = W2 a1 + b2", z2.to_vector<float>());
  std::printf(
      "  %-22s the article sums W2 a2 here: a2 is this layer's output, which does not exist yet;\n"
      "  %-22s the output layer's input is the hidden activations a1\n",
      "", "");
  print_row("y_hat = sigmoid(z2)", y_hat.to_vector<float>());
  print_row("L = 1/2 (y - y_hat)^2", {loss.item()});
  loss.backward();

  // The same gradients by the chain rule, in double.
  double a1_h[3], z2_h = b2_value;
  for (int j = 0; j < 3; ++j) {
    a1_h[j] = sigmoid_of(w1_values[2 * j] * x_values[0] + w1_values[2 * j + 1] * x_values[1] + b1_values[j]);
    z2_h += w2_values[j] * a1_h[j];
  }
  const double y_hat_h = sigmoid_of(z2_h);
  const double dl_dyhat = y_hat_h - y;                       // d/dy_hat of 1/2 (y - y_hat)^2
  const double delta2 = dl_dyhat * y_hat_h * (1 - y_hat_h);  // dL/dz2
  std::vector<float> dw2(3), dw1(6), db1(3);
  for (int j = 0; j < 3; ++j) {
    dw2[size_t(j)] = float(delta2 * a1_h[j]);
    const double delta1 = delta2 * w2_values[size_t(j)] * a1_h[j] * (1 - a1_h[j]);  // dL/dz1_j
    db1[size_t(j)] = float(delta1);
    dw1[size_t(2 * j)] = float(delta1 * x_values[0]);
    dw1[size_t(2 * j + 1)] = float(delta1 * x_values[1]);
  }
  std::printf("\n  backward (autograd, then the chain rule by hand)\n");
  print_row("dL/dy_hat = y_hat - y", {float(dl_dyhat)});
  std::printf(
      "  %-22s the article prints y - y_hat = %+.6f: the derivative of 1/2 (y - y_hat)^2 is\n"
      "  %-22s -(y - y_hat); with its sign every gradient below flips and the step climbs the loss\n",
      "", y - y_hat_h, "");
  print_row("dL/dz2", {float(delta2)});
  print_row("dL/dW2 autograd", w2.grad().to_vector<float>());
  print_row("dL/dW2 by hand", dw2);
  print_row("dL/db2 autograd", b2.grad().to_vector<float>());
  print_row("dL/db2 by hand", {float(delta2)});
  print_row("dL/dW1 autograd", w1.grad().to_vector<float>());
  print_row("dL/dW1 by hand", dw1);
  print_row("dL/db1 autograd", b1.grad().to_vector<float>());
  print_row("dL/db1 by hand", db1);

  double largest = 0;
  auto compare = [&](const Tensor& g, const std::vector<float>& h) {
    const std::vector<float> a = g.to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::fabs(double(a[i]) - double(h[i])));
  };
  compare(w2.grad(), dw2);
  compare(w1.grad(), dw1);
  compare(b1.grad(), db1);
  std::printf("  largest difference autograd vs by hand: %.2e\n", largest);

  // The update W <- W - lr dL/dW, and the loss after it; then the article's sign, for contrast.
  {
    NoGradGuard no_grad;
    auto loss_at = [&](const Tensor& v1, const Tensor& c1, const Tensor& v2, const Tensor& c2) {
      const float out = sigmoid(add(matmul(v2, sigmoid(add(matmul(v1, x), c1))), c2)).item();
      return 0.5f * (y - out) * (y - out);
    };
    auto step = [&](const Tensor& p, float sign) { return add(p, mul(p.grad(), -sign * lr)); };
    const float wrong_sign_loss = loss_at(step(w1, -1), step(b1, -1), step(w2, -1), step(b2, -1));
    for (Tensor* p : {&w1, &b1, &w2, &b2}) p->add_(p->grad(), -lr);
    std::printf("\n  after one step (W <- W - %.1f dL/dW)\n", lr);
    print_row("W1", w1.to_vector<float>());
    print_row("b1", b1.to_vector<float>());
    print_row("W2", w2.to_vector<float>());
    print_row("b2", b2.to_vector<float>());
    const float new_loss = loss_at(w1, b1, w2, b2);
    std::printf("  loss %.6f -> %.6f (%s)\n", loss.item(), new_loss, new_loss < loss.item() ? "down" : "up");
    std::printf("  with the article's sign of dL/dy_hat the same step gives loss %.6f (%s)\n", wrong_sign_loss,
                wrong_sign_loss < loss.item() ? "down" : "up");
  }
  return largest < 1e-6 ? 0 : 1;
}
