// Keeps every hook family in a program linked against the static archive.
//
// A linker takes from an archive only the members that resolve something the
// program still needs. A program whose own code never names `connect` (its
// HTTP client library does) would otherwise get no fd_hooks.o and run with
// connect unhooked. So each hook family defines an anchor symbol
// (COSCOPE_HOOK_FAMILY), and link_anchors.cpp - in every program that starts
// a task - refers to all of them (COSCOPE_KEEP_HOOK_FAMILIES). In the shared
// library everything is linked anyway.
#pragma once

#define COSCOPE_HOOK_FAMILY(family) \
  extern "C" __attribute__((visibility("hidden"))) const char coscope_hook_family_##family = 0

extern "C" {
extern const char coscope_hook_family_fd;
extern const char coscope_hook_family_io;
extern const char coscope_hook_family_poll;
extern const char coscope_hook_family_sleep;
extern const char coscope_hook_family_dns;
extern const char coscope_hook_family_signal;
extern const char coscope_hook_family_fortify;
extern const char coscope_hook_family_stdio;
}

#define COSCOPE_KEEP_HOOK_FAMILIES()                                                        \
  __attribute__((used)) const void* const coscope_hook_families[] = {                       \
      &coscope_hook_family_fd,      &coscope_hook_family_io,   &coscope_hook_family_poll,   \
      &coscope_hook_family_sleep,   &coscope_hook_family_dns,  &coscope_hook_family_signal, \
      &coscope_hook_family_fortify, &coscope_hook_family_stdio}
