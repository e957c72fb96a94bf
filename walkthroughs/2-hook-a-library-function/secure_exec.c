/* secure_exec.c: the article's second limitation, "ensure that the SUID bit
 * is not set, otherwise you can't use LD_PRELOAD". It prints who it runs as
 * and whether the kernel asked for secure execution (AT_SECURE), then
 * allocates, so a preloaded malloc hook shows whether it was loaded.
 * Step 2 runs it as it is and as a set-user-ID copy owned by another user. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(void) {
  printf("uid %d, euid %d, gid %d, egid %d, AT_SECURE %lu\n", (int)getuid(), (int)geteuid(),
         (int)getgid(), (int)getegid(), getauxval(AT_SECURE));
  free(malloc(10));
  printf("done\n");
  return 0;
}
