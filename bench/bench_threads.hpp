#pragma once
// Thread placement and CPU time for the benchmarks that measure one thread's CPU per call
// (bridge_bench.cpp, relay_floor.cpp).

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

namespace bench {

// Pins the calling thread to `cpu` on a machine with at least two: the measured thread gets a core of its
// own, the load generator and the far ends share the other, so the figures do not depend on how the
// scheduler interleaves the busy threads.
inline void pin_to_cpu(int cpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// The calling thread's CPU time (user and kernel), in seconds.
inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace bench
