#include "nabla/dist/process_group.h"

#include <climits>
#include <cstdlib>
#include <utility>

#include "nabla/core/error.h"

#ifdef NABLA_HAS_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only: the deprecated C++ bindings need another library
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace nabla::dist {

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

std::string rank_prefix() { return world_size() > 1 ? "rank " + std::to_string(rank()) + ": " : ""; }

#ifdef NABLA_HAS_MPI

namespace {

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return MPI_SUM;
    case ReduceOp::max: return MPI_MAX;
    case ReduceOp::min: return MPI_MIN;
  }
  return MPI_SUM;
}

MPI_Datatype mpi_type(DType dtype, const char* what) {
  switch (dtype) {
    case DType::f32: return MPI_FLOAT;
    case DType::i64: return MPI_INT64_T;
    case DType::i32: return MPI_INT32_T;
    case DType::u8: return MPI_UINT8_T;
    default: fail(what, ": tensors of dtype ", dtype_name(dtype), " are not supported; use f32 or i64");
  }
}

// MPI counts are int: longer buffers go in chunks.
template <typename F>
void in_chunks(int64_t count, size_t element_size, char* data, F call) {
  for (int64_t done = 0; done < count;) {
    const int n = int(std::min<int64_t>(count - done, INT_MAX / 2));
    call(data + done * int64_t(element_size), n);
    done += n;
  }
}

void check_initialized(const char* what) {
  NABLA_CHECK(is_initialized(), what,
              ": the process group is not initialised; call nabla::dist::init(&argc, &argv) "
              "first (and launch with mpirun -np N)");
}

}  // namespace

bool available() { return true; }

void init(int* argc, char*** argv) {
  if (is_initialized()) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  std::atexit([] { finalize(); });
}

bool is_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void finalize() {
  if (is_initialized()) MPI_Finalize();
}

void abort(int exit_code) {
  if (is_initialized() && world_size() > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
}

int world_size() {
  if (!is_initialized()) return 1;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int rank() {
  if (!is_initialized()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

void barrier() {
  if (world_size() > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void all_reduce(Tensor& t, ReduceOp op) {
  if (world_size() == 1) return;
  NABLA_CHECK(t.defined() && t.is_contiguous(), "all_reduce: needs a defined, contiguous tensor");
  MPI_Datatype type = mpi_type(t.dtype(), "all_reduce");
  in_chunks(t.numel(), t.element_size(), static_cast<char*>(t.raw_data()),
            [&](char* p, int n) { MPI_Allreduce(MPI_IN_PLACE, p, n, type, mpi_op(op), MPI_COMM_WORLD); });
}

void all_reduce(std::vector<double>& values, ReduceOp op) {
  if (world_size() == 1 || values.empty()) return;
  MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, mpi_op(op), MPI_COMM_WORLD);
}

void broadcast(Tensor& t, int root) {
  if (world_size() == 1) return;
  NABLA_CHECK(t.defined() && t.is_contiguous(), "broadcast: needs a defined, contiguous tensor");
  NABLA_CHECK(root >= 0 && root < world_size(), "broadcast: root ", root, " is not a rank of ", world_size());
  MPI_Datatype type = mpi_type(t.dtype(), "broadcast");
  in_chunks(t.numel(), t.element_size(), static_cast<char*>(t.raw_data()),
            [&](char* p, int n) { MPI_Bcast(p, n, type, root, MPI_COMM_WORLD); });
}

std::vector<std::string> all_gather(const std::string& value) {
  if (world_size() == 1) return {value};
  const int size = world_size();
  int length = int(value.size());
  std::vector<int> lengths(size), offsets(size);
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  std::string all(size_t(total), '\0');
  MPI_Allgatherv(value.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r) out.push_back(all.substr(size_t(offsets[r]), size_t(lengths[r])));
  return out;
}

PendingReduction::PendingReduction(float* data, int64_t count) {
  check_initialized("PendingReduction");
  NABLA_CHECK(count <= INT_MAX, "PendingReduction: ", count,
              " elements is more than one MPI call takes; use smaller buckets");
  auto* request = new MPI_Request;
  MPI_Iallreduce(MPI_IN_PLACE, data, int(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
  request_ = request;
  active_ = true;
}

PendingReduction::PendingReduction(PendingReduction&& other) noexcept
    : request_(std::exchange(other.request_, nullptr)), active_(std::exchange(other.active_, false)) {}

PendingReduction& PendingReduction::operator=(PendingReduction&& other) noexcept {
  if (this != &other) {
    wait();
    delete static_cast<MPI_Request*>(request_);
    request_ = std::exchange(other.request_, nullptr);
    active_ = std::exchange(other.active_, false);
  }
  return *this;
}

PendingReduction::~PendingReduction() {
  wait();
  delete static_cast<MPI_Request*>(request_);
}

bool PendingReduction::test() {
  if (!active_) return true;
  int done = 0;
  MPI_Test(static_cast<MPI_Request*>(request_), &done, MPI_STATUS_IGNORE);
  if (done) active_ = false;
  return done != 0;
}

void PendingReduction::wait() {
  if (!active_) return;
  MPI_Wait(static_cast<MPI_Request*>(request_), MPI_STATUS_IGNORE);
  active_ = false;
}

#else  // built without MPI: a world of one process

namespace {
[[noreturn]] void no_mpi(const char* what) {
  fail(what,
       ": this nabla was built without MPI; install Open MPI (Debian: openmpi-bin libopenmpi-dev, as "
       "scripts/setup.sh does) and rebuild to train on several processes");
}
}  // namespace

bool available() { return false; }
void init(int*, char***) {
  if (launched_by_mpirun()) no_mpi("dist::init");
}
bool is_initialized() { return false; }
void finalize() {}
void abort(int) {}
int world_size() { return 1; }
int rank() { return 0; }
void barrier() {}
void all_reduce(Tensor&, ReduceOp) {}
void all_reduce(std::vector<double>&, ReduceOp) {}
void broadcast(Tensor&, int) {}
std::vector<std::string> all_gather(const std::string& value) { return {value}; }
PendingReduction::PendingReduction(float*, int64_t) { no_mpi("PendingReduction"); }
PendingReduction::PendingReduction(PendingReduction&& other) noexcept : request_(nullptr), active_(other.active_) {}
PendingReduction& PendingReduction::operator=(PendingReduction&&) noexcept { return *this; }
PendingReduction::~PendingReduction() = default;
bool PendingReduction::test() { return true; }
void PendingReduction::wait() {}

#endif

}  // namespace nabla::dist
