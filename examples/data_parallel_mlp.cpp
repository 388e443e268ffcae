// Data-parallel training in a hand-written loop: an MLP on Fashion-MNIST, one replica per MPI rank.
// Each rank reads its shard of every step, DistributedDataParallel averages the gradients across
// ranks while backward runs, and every rank applies the same update.
// Usage: mpirun -np 2 data_parallel_mlp [epochs]   (also runs alone, as a world of one)
#include <cstdio>
#include <cstdlib>

#include "nabla/nabla.h"

using namespace nabla;

int main(int argc, char** argv) {
  try {
    dist::init(&argc, &argv);
    const int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
    manual_seed(0);  // the same seed everywhere; DDP also copies rank 0's weights to all ranks
    data::FashionMnist train = data::load_fashion_mnist("train", data::default_fashion_mnist_dir());
    data::FashionMnist test = data::load_fashion_mnist("test", data::default_fashion_mnist_dir());
    auto net = std::make_shared<nn::Sequential>(
        std::initializer_list<nn::ModulePtr>{std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(784, 256),
                                             std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(256, 10)});
    dist::DistributedDataParallel ddp(net);
    optim::SGD opt(net->parameters(), {.lr = 0.05, .momentum = 0.9});
    data::DataLoader loader(
        std::make_shared<data::TensorDataset>(train.images, train.labels),
        {.batch_size = 64, .shuffle = true, .seed = 1, .num_replicas = dist::world_size(), .rank = dist::rank()});
    for (int epoch = 0; epoch < epochs; ++epoch) {
      std::vector<double> loss_and_count = {0, 0};
      for (data::Batch& batch : loader.epoch(epoch)) {
        ddp.set_sample_counts(batch.real_size(), batch.global_size);  // weighs a smaller last step right
        Tensor loss = cross_entropy(ddp.forward(batch.x), batch.y);
        opt.zero_grad();
        loss.backward();  // returns with the gradients averaged over all ranks
        opt.step();
        loss_and_count[0] += loss.item<double>() * double(batch.real_size());
        loss_and_count[1] += double(batch.real_size());
      }
      dist::all_reduce(loss_and_count);  // the epoch's loss over every rank's samples
      NoGradGuard no_grad;
      const double accuracy = mean(eq(argmax(net->forward(test.images), 1), test.labels).to(DType::f32)).item<double>();
      if (dist::rank() == 0)
        std::printf("epoch %d on %d rank(s): train loss %.4f, test accuracy %.4f\n", epoch + 1, dist::world_size(),
                    loss_and_count[0] / loss_and_count[1], accuracy);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "data_parallel_mlp: %serror: %s\n", dist::rank_prefix().c_str(), e.what());
    dist::abort(1);
    return 1;
  }
  return 0;
}
