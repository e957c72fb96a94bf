/* prog1.c, the notes' first program: allocates 10 bytes and frees them.
 * Step 2 runs it plain, then with a malloc hook preloaded (LD_PRELOAD). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  int* p;
  printf("calling from main...\n");
  p = (int*)malloc(10);
  if (!p) {
    printf("Got allocation error...\n");
    exit(1);
  }
  printf("returning to main...\n");
  free(p); /* freeing memory from heap */
  printf("freeing memory...\n");
  return 0;
}
