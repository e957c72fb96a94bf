/* internal_calls.c: the article's third limitation, "internal library
 * function calls are resolved before runtime". Run with count_calls.c
 * preloaded, it calls write() and open() itself, then printf(), fopen() and
 * strdup(), which write, open and allocate inside glibc:
 *
 *   LD_PRELOAD=$PWD/libcount_calls.so ./internal_calls
 *
 * glibc's own write and open never reach the hook; its malloc calls do. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char* text) {
  if (write(STDOUT_FILENO, text, strlen(text)) < 0) exit(1);
}

int main(void) {
  say("1. main calls write()\n");
  printf("2. main calls printf(): glibc writes this line itself\n");
  fflush(stdout);
  say("3. main calls open()\n");
  close(open("/dev/null", O_RDONLY));
  say("4. main calls fopen()\n");
  fclose(fopen("/dev/null", "r"));
  say("5. main calls strdup()\n");
  free(strdup("a copy"));
  return 0;
}
