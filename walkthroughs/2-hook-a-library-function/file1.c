/* file1.c: half of libfile.so, which dl_prog1 opens with dlopen(). */
void file1(int* i) {
  *i = 100;
}
