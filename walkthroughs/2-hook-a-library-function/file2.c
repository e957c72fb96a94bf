/* file2.c: the other half of libfile.so. */
void file2(int* i) {
  *i = 200;
}
