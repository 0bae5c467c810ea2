"""How late this machine lets a sleeping thread wake up.

The machine the tests share can stall for seconds (other test runs,
package installs).  A thread that sleeps 10 ms at a time adds up how much
later than that it wakes (beyond 2 ms of slack); a latency sampler reads
the sum before and after a request, and a request counts against
portkeeperd only when it was slower than the machine's stall meanwhile.
A daemon whose loop blocks keeps its client waiting while this thread
still wakes on time.  Imported by the samplers of test_hostile.sh and
test_slowdisk.sh (PYTHONPATH)."""
import threading
import time


class Stall:
    def __init__(self):
        self._late = 0.0
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            t = time.monotonic()
            time.sleep(0.01)
            d = time.monotonic() - t - 0.01
            with self._lock:
                self._late += max(d - 0.002, 0)

    def seconds(self):
        """The lateness summed since the start, in seconds."""
        with self._lock:
            return self._late
