// The MPI process group: which process this is among how many, and collectives on tensors.
// Launch with `mpirun -np N program ...`; a program started without mpirun is a world of one,
// where every collective is a no-op. Built without MPI, init() and collectives on more than one
// process say so.
#pragma once
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::dist {

// Whether this build of nabla has MPI (Debian's libopenmpi-dev at configure time).
bool available();
// Whether this process was started by mpirun/mpiexec (Open MPI, MPICH or PMIx environment).
bool launched_by_mpirun();

// Initialises MPI (thread level "funneled": MPI is called from the thread that initialised it).
// Idempotent; finalize() runs at exit. argc/argv may be null.
void init(int* argc = nullptr, char*** argv = nullptr);
bool is_initialized();
// Ends MPI cleanly (every rank must call it, or none); called at exit when init() ran.
void finalize();
// Ends every process of the job at once, e.g. after an error on one rank, so none waits forever
// in a collective. Returns only when MPI is not running (then it does nothing).
void abort(int exit_code);

int world_size();  // 1 unless initialised under mpirun with more processes
int rank();        // 0 .. world_size() - 1

enum class ReduceOp { sum, max, min };

void barrier();
// In place over every element (f32, f64-free: f32 and i64 tensors), contiguous.
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::sum);
void all_reduce(std::vector<double>& values, ReduceOp op = ReduceOp::sum);
// Rank `root`'s values into t on every rank (t must have the same shape and dtype everywhere).
void broadcast(Tensor& t, int root = 0);
// Every rank's string, in rank order, on every rank.
std::vector<std::string> all_gather(const std::string& value);

// Non-blocking sum over f32 data in place; wait() completes it. Drives MPI progress on test().
class PendingReduction {
 public:
  PendingReduction() = default;
  PendingReduction(float* data, int64_t count);
  PendingReduction(PendingReduction&& other) noexcept;
  PendingReduction& operator=(PendingReduction&& other) noexcept;
  ~PendingReduction();  // waits: the buffer must not go away under MPI
  bool active() const { return active_; }
  bool test();  // true once complete
  void wait();

 private:
  void* request_ = nullptr;  // MPI_Request, kept opaque so this header needs no mpi.h
  bool active_ = false;
};

// The calling code's "rank r: " prefix for messages in a multi-process job ("" for one process).
std::string rank_prefix();

}  // namespace nabla::dist
