// Every function the C library exports in a hooked family is hooked, or is
// named in docs/hooks.md under "What is not hooked, and why".
//
// The exports are read from the dynamic symbol table of the libc this test
// runs with (the installed one), so a glibc that adds an entry point (a new
// _chk variant, a 64-bit alias) fails the test until it is hooked or its
// absence explained. "Hooked" means libcoscope itself defines the symbol.
// Names exported only under GLIBC_PRIVATE are glibc's internals, which no
// program links against: they are not counted.
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <gtest/gtest.h>

#include <coscope/coscope.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The hooked families, as name patterns: a leading "__" catches glibc's
// public aliases and the fortified "_chk" forms.
const char* const kFamilies[] = {
    // read/write, and their positional, vector, message and fortified forms
    R"(^(__)?(p?read|p?write|recv|send)(v|v2|64|from|to|msg|mmsg)*(_chk)?$)",
    // poll family, and the fortified fd_set index check
    R"(^(__)?(p?poll|p?select|epoll_p?wait2?)(_chk)?$)",
    R"(^__fdelt_(chk|warn)$)",
    // sleep family
    R"(^(__)?(sleep|usleep|nanosleep|clock_nanosleep)$)",
    // fd life cycle and sockets, with the FILE calls that open and close fds
    R"(^(__)?(socket|socketpair|accept4?|connect|close|dup[23]?|pipe2?|fcntl(64)?|ioctl)$)",
    R"(^(__)?(setsockopt|getsockopt|fdopen|fclose)$)",
    // signals
    R"(^(__)?(sigaction|signal|bsd_signal|sysv_signal|siginterrupt|sigset)$)",
    // resolver
    R"(^(gethostbyname2?|gethostbyaddr)(_r)?$)",
    R"(^getaddrinfo(_a)?$)",
};

std::string LoadedObjectPath(const char* name_part) {
  struct Search {
    const char* part;
    std::string path;
  } search{name_part, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, s->part) != nullptr) {
          s->path = info->dlpi_name;
          return 1;
        }
        return 0;
      },
      &search);
  return search.path;
}

// The functions an ELF shared object defines in its dynamic symbol table,
// with the name of the version each is defined under.
std::vector<std::pair<std::string, std::string>> DefinedFunctions(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<std::string, std::string>> out;
  if (image.size() < sizeof(Elf64_Ehdr)) return out;
  const auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(image.data());
  const auto* shdrs = reinterpret_cast<const Elf64_Shdr*>(image.data() + ehdr->e_shoff);
  const Elf64_Shdr* dynsym = nullptr;
  const Elf64_Shdr* versym = nullptr;
  const Elf64_Shdr* verdef = nullptr;
  for (int i = 0; i < ehdr->e_shnum; ++i) {
    if (shdrs[i].sh_type == SHT_DYNSYM) dynsym = &shdrs[i];
    if (shdrs[i].sh_type == SHT_GNU_versym) versym = &shdrs[i];
    if (shdrs[i].sh_type == SHT_GNU_verdef) verdef = &shdrs[i];
  }
  if (dynsym == nullptr) return out;
  const char* strtab = image.data() + shdrs[dynsym->sh_link].sh_offset;
  // Version index -> name, from the version definitions.
  std::vector<std::string> version_names(1024);
  if (verdef != nullptr) {
    const char* vstr = image.data() + shdrs[verdef->sh_link].sh_offset;
    std::size_t off = verdef->sh_offset;
    for (unsigned i = 0; i < verdef->sh_info; ++i) {
      const auto* vd = reinterpret_cast<const Elf64_Verdef*>(image.data() + off);
      const auto* aux = reinterpret_cast<const Elf64_Verdaux*>(image.data() + off + vd->vd_aux);
      if (vd->vd_ndx < version_names.size()) version_names[vd->vd_ndx] = vstr + aux->vda_name;
      off += vd->vd_next;
    }
  }
  const auto* syms = reinterpret_cast<const Elf64_Sym*>(image.data() + dynsym->sh_offset);
  const auto* vers =
      versym ? reinterpret_cast<const Elf64_Half*>(image.data() + versym->sh_offset) : nullptr;
  const std::size_t count = dynsym->sh_size / sizeof(Elf64_Sym);
  for (std::size_t i = 1; i < count; ++i) {
    const int type = ELF64_ST_TYPE(syms[i].st_info);
    if (syms[i].st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC)) continue;
    const unsigned v = vers ? (vers[i] & 0x7fff) : 0;
    out.emplace_back(strtab + syms[i].st_name, v < version_names.size() ? version_names[v] : "");
  }
  return out;
}

// The names in `code spans` of docs/hooks.md's "What is not hooked, and why".
std::set<std::string> DocumentedAsNotHooked() {
  std::ifstream in(COSCOPE_HOOKS_MD);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string heading = "\n## What is not hooked, and why\n";
  const std::size_t start = doc.find(heading);
  if (start == std::string::npos) return {};
  const std::size_t end = doc.find("\n## ", start + heading.size());
  const std::string section = doc.substr(start, end - start);
  std::set<std::string> names;
  const std::regex span("`([A-Za-z_][A-Za-z0-9_]*)`");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), span);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

TEST(HookExportList, EveryExportOfAHookedFamilyIsHookedOrDocumented) {
  co::Scheduler linked;  // this program uses the runtime, so libcoscope.so is loaded
  const std::string libc = LoadedObjectPath("libc.so");
  const std::string coscope = LoadedObjectPath("libcoscope.so");
  ASSERT_FALSE(libc.empty()) << "libc.so not loaded";
  ASSERT_FALSE(coscope.empty()) << "libcoscope.so not loaded";
  void* handle = dlopen(coscope.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << dlerror();
  Dl_info own{};
  ASSERT_NE(dladdr(dlsym(handle, "coroutine_hook_init"), &own), 0);

  // Defined by libcoscope itself (dlsym on its handle searches it first).
  auto hooked = [&](const std::string& name) {
    Dl_info info{};
    void* sym = dlsym(handle, name.c_str());
    return sym != nullptr && dladdr(sym, &info) != 0 && info.dli_fbase == own.dli_fbase;
  };

  std::vector<std::regex> families;
  for (const char* pattern : kFamilies) families.emplace_back(pattern);
  const std::set<std::string> documented = DocumentedAsNotHooked();
  ASSERT_FALSE(documented.empty()) << "no \"What is not hooked, and why\" in " << COSCOPE_HOOKS_MD;

  std::set<std::string> in_families;
  for (const auto& [name, version] : DefinedFunctions(libc)) {
    if (version == "GLIBC_PRIVATE") continue;
    for (const std::regex& family : families) {
      if (std::regex_match(name, family)) in_families.insert(name);
    }
  }
  ASSERT_GT(in_families.size(), 40u) << "could not read the exports of " << libc;

  std::string neither;
  for (const std::string& name : in_families) {
    if (!hooked(name) && documented.count(name) == 0) neither += " " + name;
  }
  EXPECT_EQ(neither, "") << "exported by " << libc
                         << ", neither hooked nor listed under \"What is not hooked, and why\"";
  dlclose(handle);
}

}  // namespace
