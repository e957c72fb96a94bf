/* Step 4: the notes' static and dynamic "linking" of connect_f, in one small
 * C program built twice: as an ordinary, dynamically linked program
 * (weak_connect_dynamic) and fully static (weak_connect_static, -static).
 *
 * It looks for glibc's connect both ways coscope's originals table does
 * (hooks/originals.cpp):
 *   __libc_connect   a weak reference to glibc's internal name: the linker
 *                    (static link) or the dynamic linker fills it in if some
 *                    object it links defines the name, and leaves it 0 if none
 *                    does - a weak reference is never an error;
 *   dlsym(RTLD_NEXT, "connect")
 *                    the next definition of `connect` after this program's
 *                    own, looked up by name at run time.
 * and prints what each found, next to the address of `connect` itself.
 *
 *   $ build/walkthroughs/4-connect/weak_connect_dynamic
 *   $ build/walkthroughs/4-connect/weak_connect_static */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/socket.h>

int __libc_connect(int, const struct sockaddr*, socklen_t) __attribute__((weak));

/* The address, and which symbol of which file it is (a dynamic program
 * only: a static one has no dynamic symbol table to ask). */
static void show(const char* what, void* address, const char* error) {
  Dl_info info;
  printf("  %-30s %-16p", what, address);
  if (address == NULL) {
    printf(" %s\n", error != NULL ? error : "(null: nothing defines it)");
  } else if (address == (void*)connect) {
    printf(" = connect");
    if (dladdr(address, &info) != 0 && info.dli_fname != NULL) printf(", in %s", info.dli_fname);
    printf("\n");
  } else {
    printf("\n");
  }
}

int main(void) {
  void* next = dlsym(RTLD_NEXT, "connect");
  const char* error = next == NULL ? dlerror() : NULL;
#ifdef LINKED_STATICALLY
  printf("linked with -static:\n");
#else
  printf("linked dynamically:\n");
#endif
  show("__libc_connect (weak)", (void*)__libc_connect, NULL);
  show("dlsym(RTLD_NEXT, \"connect\")", next, error);
  return 0;
}
