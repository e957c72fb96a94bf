// Real, unmodified third-party client libraries in coroutines: libcurl's easy
// API (curl_easy_perform blocks until the transfer is done) and hiredis'
// blocking API (redisConnect + redisCommand). Neither knows about coroutines;
// their sockets, poll() and read()/write() reach the hooks, so several
// coroutines on ONE worker thread wait for their servers at the same time.
//
// The servers are local: an HTTP responder on 127.0.0.1 that delays each
// reply, and a redis-server the test starts on 127.0.0.1 at a free port.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <coscope/coscope.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "delayed_reply_server.h"
#include "test_util.h"
#include "test_watchdog.h"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using coscope_test::DelayedReplyServer;
using coscope_test::SecondsSince;
using coscope_test::SpawnOn;
using coscope_test::Watchdog;

// ---- libcurl ---------------------------------------------------------------

// An HTTP/1.1 responder: once the request head is in, the body names the path.
std::optional<std::string> HttpReplyFor(const std::string& received) {
  if (received.find("\r\n\r\n") == std::string::npos) return std::nullopt;
  const std::size_t path_start = received.find(' ') + 1;
  const std::string path = received.substr(path_start, received.find(' ', path_start) - path_start);
  const std::string body = "hello from " + path;
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

TEST(ThirdPartyClients, CurlEasyPerformRequestsOverlapOnOneWorker) {
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 2;
  constexpr auto kDelay = 200ms;
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  DelayedReplyServer server(kDelay, HttpReplyFor);
  co::Scheduler sched;
  std::atomic<int> good{0};
  std::vector<std::string> errors(kClients);
  for (int c = 0; c < kClients; ++c) {
    SpawnOn(sched, [&, c] {
      CURL* curl = curl_easy_init();
      for (int r = 0; r < kRequestsEach; ++r) {
        const std::string path = "/client" + std::to_string(c) + "/request" + std::to_string(r);
        const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + path;
        std::string body;
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never an environment proxy
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendToString);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        CURLcode rc = curl_easy_perform(curl);  // blocks this coroutine only
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status == 200 && body == "hello from " + path) {
          good.fetch_add(1);
        } else {
          errors[c] += std::string(curl_easy_strerror(rc)) + " status " + std::to_string(status) +
                       " body '" + body + "'; ";
        }
      }
      curl_easy_cleanup(curl);
    });
  }
  const auto start = Clock::now();
  {
    Watchdog wd("curl clients", 60s);
    sched.RunUntilNoTask();
  }
  const double seconds = SecondsSince(start);
  curl_global_cleanup();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(errors[c], "") << "client " << c;
  EXPECT_EQ(good.load(), kClients * kRequestsEach);
  const double sequential =
      kClients * kRequestsEach * std::chrono::duration<double>(kDelay).count();
  std::printf("curl: %d requests, %.1f s one after another, on one worker: %.3f s\n",
              kClients * kRequestsEach, sequential, seconds);
  EXPECT_LT(seconds, sequential / 2) << "the transfers did not overlap";
}

// ---- hiredis against a redis-server of our own ------------------------------------

// A redis-server on 127.0.0.1 at a free port, without persistence; stopped
// (SIGTERM, then reaped) on destruction.
class LocalRedisServer {
 public:
  LocalRedisServer() {
    int probe = coscope_test::ListenOnLoopback(1, &port_);
    ::close(probe);  // free again; redis-server binds it next
    const std::string port = std::to_string(port_);
    const char* argv[] = {
        COSCOPE_REDIS_SERVER, "--port", port.c_str(), "--bind",  "127.0.0.1", "--save", "",
        "--appendonly",       "no",     "--loglevel", "warning", nullptr};
    // Its start-up chatter goes to /dev/null; a failed start shows as !ready().
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int spawned = ::posix_spawn(&pid_, COSCOPE_REDIS_SERVER, &quiet, nullptr,
                                      const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&quiet);
    if (spawned != 0) {
      pid_ = -1;
      return;
    }
    // Ready once it answers PING (plain thread: the hooks pass through).
    const auto give_up = Clock::now() + 10s;
    while (Clock::now() < give_up) {
      redisContext* c = redisConnect("127.0.0.1", port_);
      if (c != nullptr && c->err == 0) {
        auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
        ready_ = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
        if (reply != nullptr) freeReplyObject(reply);
      }
      if (c != nullptr) redisFree(c);
      if (ready_) break;
      std::this_thread::sleep_for(20ms);
    }
  }
  ~LocalRedisServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  LocalRedisServer(const LocalRedisServer&) = delete;
  LocalRedisServer& operator=(const LocalRedisServer&) = delete;

  bool ready() const { return ready_; }
  int port() const { return port_; }

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// One redisCommand; the reply rendered as text ("nil", "OK", "[a,b]", ...).
std::string Command(redisContext* c, const char* format, const std::string& a = {},
                    const std::string& b = {}) {
  auto* reply = static_cast<redisReply*>(redisCommand(c, format, a.c_str(), b.c_str()));
  if (reply == nullptr) return std::string("error: ") + c->errstr;
  std::string text;
  switch (reply->type) {
    case REDIS_REPLY_NIL:
      text = "nil";
      break;
    case REDIS_REPLY_INTEGER:
      text = std::to_string(reply->integer);
      break;
    case REDIS_REPLY_ARRAY:
      text = "[";
      for (size_t i = 0; i < reply->elements; ++i) {
        text += std::string(reply->element[i]->str, reply->element[i]->len);
        if (i + 1 < reply->elements) text += ",";
      }
      text += "]";
      break;
    default:  // status, string, error
      text = std::string(reply->str, reply->len);
  }
  freeReplyObject(reply);
  return text;
}

TEST(ThirdPartyClients, HiredisBlockingCommandsOverlapOnOneWorker) {
  constexpr int kClients = 8;
  LocalRedisServer redis;
  ASSERT_TRUE(redis.ready()) << "redis-server did not start";
  co::Scheduler sched;

  // Phase 1: every client waits in BLPOP on an empty list until its 0.5 s
  // timeout. One after another that is 4 s.
  std::vector<std::string> results(kClients);
  for (int c = 0; c < kClients; ++c) {
    SpawnOn(sched, [&, c] {
      redisContext* ctx = redisConnect("127.0.0.1", redis.port());
      if (ctx == nullptr || ctx->err != 0) {
        results[c] = "connect failed";
        if (ctx != nullptr) redisFree(ctx);
        return;
      }
      const std::string key = "key" + std::to_string(c);
      results[c] = Command(ctx, "SET %s %s", key, "value" + std::to_string(c));
      results[c] += " " + Command(ctx, "GET %s", key);
      results[c] += " " + Command(ctx, "BLPOP %s 0.5", "empty" + std::to_string(c));
      redisFree(ctx);
    });
  }
  auto start = Clock::now();
  {
    Watchdog wd("hiredis BLPOP timeouts", 60s);
    sched.RunUntilNoTask();
  }
  const double timeouts_seconds = SecondsSince(start);
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(results[c], "OK value" + std::to_string(c) + " nil") << "client " << c;
  }
  std::printf("hiredis: %d BLPOPs timing out after 0.5 s, on one worker: %.3f s\n", kClients,
              timeouts_seconds);
  EXPECT_LT(timeouts_seconds, kClients * 0.5 / 2) << "the BLPOPs did not overlap";

  // Phase 2: every client waits in BLPOP on its own list; a further coroutine
  // on the same worker pushes to the lists after 200 ms. If a BLPOP held the
  // thread, the pusher could never run.
  std::vector<std::string> popped(kClients);
  for (int c = 0; c < kClients; ++c) {
    SpawnOn(sched, [&, c] {
      redisContext* ctx = redisConnect("127.0.0.1", redis.port());
      if (ctx == nullptr || ctx->err != 0) {
        popped[c] = "connect failed";
        if (ctx != nullptr) redisFree(ctx);
        return;
      }
      popped[c] = Command(ctx, "BLPOP %s 10", "queue" + std::to_string(c));
      redisFree(ctx);
    });
  }
  std::string push_errors;
  SpawnOn(sched, [&] {
    redisContext* ctx = redisConnect("127.0.0.1", redis.port());
    if (ctx == nullptr || ctx->err != 0) {
      push_errors = "connect failed";
      if (ctx != nullptr) redisFree(ctx);
      return;
    }
    co::co_sleep(200);
    for (int c = 0; c < kClients; ++c) {
      std::string r =
          Command(ctx, "RPUSH %s %s", "queue" + std::to_string(c), "item" + std::to_string(c));
      if (r != "1") push_errors += "RPUSH queue" + std::to_string(c) + ": " + r + "; ";
    }
    redisFree(ctx);
  });
  start = Clock::now();
  {
    Watchdog wd("hiredis BLPOP with pusher", 60s);
    sched.RunUntilNoTask();
  }
  const double pushed_seconds = SecondsSince(start);
  EXPECT_EQ(push_errors, "");
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(popped[c], "[queue" + std::to_string(c) + ",item" + std::to_string(c) + "]")
        << "client " << c;
  }
  std::printf("hiredis: %d BLPOPs served by a pusher on the same worker: %.3f s\n", kClients,
              pushed_seconds);
  EXPECT_LT(pushed_seconds, 5.0);
}

}  // namespace
