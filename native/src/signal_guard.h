// Blocks asynchronous signals on the calling thread while oneDNN runs. Debian's libdnnl 2.6.3
// sgemm keeps live data below the stack pointer beyond the 128-byte red zone, so a signal that
// arrives mid-call (V8's --cpu-prof sends SIGPROF to the main thread every millisecond; SIGCHLD,
// SIGINT and the like can land there too) has its frame written over that data, and the call
// then corrupts the heap ("corrupted size vs. prev_size", "double free or corruption"). A plain
// C++ loop over dnnl_sgemm with a no-op SIGPROF handler aborts the same way; blocking signals or
// an alternate signal stack stops it. Signals that arrive while blocked stay pending and are
// delivered when the guard ends (a profiler's ticks in the call coalesce into one sample).
#pragma once
#include <pthread.h>
#include <signal.h>

namespace rf {

// Blocks every asynchronous signal on the calling thread; the previous mask goes to `old`.
inline bool blockAsyncSignals(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  // Synchronous faults must still reach their handlers (V8 and the wasm trap handler use them).
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) sigdelset(&all, s);
  return pthread_sigmask(SIG_BLOCK, &all, old) == 0;
}

class SignalsBlocked {
 public:
  SignalsBlocked() { active_ = blockAsyncSignals(&old_); }
  ~SignalsBlocked() {
    if (active_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
  bool active_ = false;
};

}  // namespace rf
