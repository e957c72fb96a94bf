// co_defer runs code when its scope ends, newest first; co_defer_scope is the
// by-reference form; co_last_defer().dismiss() cancels the newest pending one,
// and each task has its own newest.
#include <coscope/libgo.h>

#include <string>

#include "check.h"

int main() {
  std::string trace;
  bool dismissed_pending = false, dismissed_again = true, nothing_pending = true;
  bool other_task_nothing_pending = true;

  go[&] {
    {
      co_defer[&] {
        trace += "1";
      };
      co_defer_scope {
        trace += "2";
      };
      co_defer[&] {
        trace += "never";
      };
      // Another task's co_defer does not become this task's last one.
      go[&] {
        co_defer[&] {
          trace += "o";
        };
        co_sleep(10);
      };
      co_sleep(20);
      dismissed_pending = co_last_defer().dismiss();
      dismissed_again = co_last_defer().dismiss();
      trace += "body,";
    }
    nothing_pending = co_last_defer().dismiss();
    go[&] {
      other_task_nothing_pending = co_last_defer().dismiss();
      co_sched.Stop();
    };
  };
  co_sched.Start(1);

  std::printf("trace %s\n", trace.c_str());
  CHECK(trace == "obody,21");
  CHECK(dismissed_pending && !dismissed_again);
  CHECK(!nothing_pending && !other_task_nothing_pending);
  return 0;
}
