// Training survives being killed: `onyx train` is killed with SIGKILL at random moments, 20
// times, and resumed from its last checkpoint after each; every checkpoint it leaves loads,
// and the run ends on exactly the bytes of an unbroken one. A write killed midway leaves
// the old file, and a write past a file-size limit is an error that keeps the old one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <tuple>

#include "../cli_runner.h"
#include "onyx/core/file_util.h"
#include "onyx/nn/models.h"
#include "onyx/onnx/model_io.h"
#include "onyx/train/trainer.h"
#include "synthetic_mnist.h"

extern char** environ;

namespace onyx {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("onyx_crash_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    testing::write_split(dir_ / "data", "train", 512, 1);
    testing::write_split(dir_ / "data", "t10k", 64, 2);
    onnx_io::save_model(nn::mlp(1, 8, 4).to_onnx({1, 8, 8}, 3), (dir_ / "mlp.onnx").string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `onyx train` into checkpoint directory `ckpt`, resuming from its last.onnx when there
  // is one: the argument vector (no shell).
  std::vector<std::string> train_args(const std::string& ckpt) const {
    std::string last = (dir_ / ckpt / "last.onnx").string();
    std::vector<std::string> a = {ONYX_CLI, "train"};
    if (fs::exists(last)) {
      a.insert(a.end(), {"--resume", last});
    } else {
      a.insert(a.end(), {"--model", (dir_ / "mlp.onnx").string()});
    }
    a.insert(a.end(), {"--data", (dir_ / "data").string(), "--epochs", "12", "--batch-size", "16",
                       "--optimizer", "momentum", "--lr", "0.05", "--seed", "5", "--threads", "1",
                       "--quiet", "--checkpoint-dir", (dir_ / ckpt).string()});
    return a;
  }

  // An unbroken run into `unbroken`: its final checkpoint's bytes and how long it took.
  std::pair<std::string, double> unbroken_run() const;

  fs::path dir_;
};

pid_t spawn(const std::vector<std::string>& args, const char* output = "/dev/null") {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&quiet, 1, 2);
  pid_t pid = -1;
  int err = posix_spawn(&pid, argv[0], &quiet, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&quiet);
  EXPECT_EQ(err, 0) << "cannot start " << argv[0];
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

std::pair<std::string, double> CrashSafety::unbroken_run() const {
  auto t0 = Clock::now();
  EXPECT_EQ(wait_for(spawn(train_args("unbroken"))), 0);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return {read_file((dir_ / "unbroken" / "last.onnx").string()), ms};
}

// A temporary file of write_file_atomic (left behind by a kill between creating and renaming).
bool is_temporary(const fs::path& p) {
  return p.filename().string().find(".tmp.") != std::string::npos;
}

int leftovers(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += is_temporary(e.path());
  return n;
}

TEST_F(CrashSafety, SigkillAtRandomMomentsLosesNothing) {
  std::string expected;
  double run_ms = 0;
  std::tie(expected, run_ms) = unbroken_run();
  ASSERT_FALSE(HasFailure());
  fs::path broken = dir_ / "broken";
  auto ends_as_unbroken = [&] {
    EXPECT_TRUE(read_file((broken / "last.onnx").string()) == expected)
        << "a resumed run's final checkpoint differs from the unbroken run's";
  };

  // Kills land uniformly over the length of a whole run: during start-up, in the middle of
  // an epoch, during a checkpoint's write. A resumed run that ends before its kill is
  // compared with the unbroken run, and the next one starts afresh.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> when(0, run_ms);
  int kills = 0, after_resuming = 0, mid_write = 0, finished = 0;
  for (int launch = 0; kills < 20 && launch < 200; ++launch) {
    bool resuming = fs::exists(broken / "last.onnx");
    pid_t pid = spawn(train_args("broken"));
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(when(rng)));
    ::kill(pid, SIGKILL);
    int status = wait_for(pid);
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0);
      ends_as_unbroken();
      ++finished;
      fs::remove_all(broken);
      continue;
    }
    ++kills;
    after_resuming += resuming;
    if (!fs::exists(broken / "last.onnx")) continue;
    mid_write += leftovers(broken) > 0;
    ir::Model ckpt = onnx_io::load_model((broken / "last.onnx").string());  // throws if torn
    train::ResumePoint at = train::resume_point(ckpt);
    EXPECT_GE(at.epochs_done, 1);
    EXPECT_LE(at.epochs_done, 12);
  }
  EXPECT_EQ(kills, 20);
  ASSERT_EQ(wait_for(spawn(train_args("broken"))), 0) << "the last resumption finishes";
  ends_as_unbroken();
  EXPECT_GE(after_resuming, 1) << "no kill came after a resumption";
  std::printf(
      "%d kills over %.0f ms runs: %d after resuming, %d left a temporary file; %d "
      "resumed runs finished\n",
      kills, run_ms, after_resuming, mid_write, finished + 1);
}

// Ctrl-C (SIGINT) at random moments: `onyx train` stops after the step it is in, says where,
// exits 130 and leaves a last.onnx that resumes there; the run ends on the unbroken bytes.
// A signal before onyx takes it (start-up) stops the process as SIGINT does.
TEST_F(CrashSafety, CtrlCStopsAfterAStepAndResumesExactly) {
  std::string expected;
  double run_ms = 0;
  std::tie(expected, run_ms) = unbroken_run();
  ASSERT_FALSE(HasFailure());
  fs::path stopped = dir_ / "stopped";
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> when(0, run_ms);
  int interrupted = 0;
  for (int launch = 0; interrupted < 8 && launch < 100; ++launch) {
    std::string log = (dir_ / "launch.log").string();
    pid_t pid = spawn(train_args("stopped"), log.c_str());
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(when(rng)));
    ::kill(pid, SIGINT);
    int status = wait_for(pid);
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), SIGINT) << read_file(log);
      continue;
    }
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) {  // finished before the signal came
      EXPECT_TRUE(read_file((stopped / "last.onnx").string()) == expected);
      fs::remove_all(stopped);
      continue;
    }
    ASSERT_EQ(WEXITSTATUS(status), 130) << read_file(log);
    ++interrupted;
    ir::Model ckpt = onnx_io::load_model((stopped / "last.onnx").string());  // throws if torn
    EXPECT_LE(train::resume_point(ckpt).epochs_done, 12);
  }
  EXPECT_EQ(interrupted, 8);
  ASSERT_EQ(wait_for(spawn(train_args("stopped"))), 0) << "the last resumption finishes";
  EXPECT_TRUE(read_file((stopped / "last.onnx").string()) == expected);
  // What it says, from a run with its output kept, signalled once its first epoch is done.
  std::string log = (dir_ / "said.log").string();
  pid_t pid = spawn(train_args("said"), log.c_str());
  for (auto until = Clock::now() + std::chrono::seconds(60);
       !fs::exists(dir_ / "said" / "last.onnx") && Clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGINT);
  int status = wait_for(pid);
  std::string out = read_file(log);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 130) << out;
  EXPECT_NE(out.find("onyx: stopping after this step"), std::string::npos) << out;
  EXPECT_NE(out.find("onyx: interrupted after step "), std::string::npos) << out;
  EXPECT_NE(out.find("said/last.onnx continues it (--resume)"), std::string::npos) << out;
}

// A child writes 256 MB over a file and is killed while it writes (once its temporary file
// has some of the bytes, however fast the machine): the file keeps its old bytes, never a
// torn mix. A kill that comes too late finds either whole file; the test tries again.
TEST_F(CrashSafety, AWriteKilledMidwayLeavesTheOldFile) {
  std::string path = (dir_ / "model.onnx").string();
  std::string big(size_t{256} << 20, 'x');
  int mid_write = 0;
  for (int attempt = 0; attempt < 20 && mid_write == 0; ++attempt) {
    write_file_atomic(path, "the old bytes");
    for (const auto& e : fs::directory_iterator(dir_)) {  // an earlier kill's leftover
      if (is_temporary(e.path())) fs::remove(e.path());
    }
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      write_file_atomic(path, big);
      ::_exit(0);
    }
    bool partial = false, reaped = false;
    int status = 0;
    for (auto until = Clock::now() + std::chrono::seconds(10); !partial && Clock::now() < until;) {
      for (const auto& e : fs::directory_iterator(dir_)) {
        std::error_code ec;
        auto size = fs::file_size(e.path(), ec);
        if (is_temporary(e.path()) && !ec && size > 0 && size < big.size()) {
          partial = true;
        }
      }
      if (::waitpid(pid, &status, WNOHANG) == pid) reaped = true;  // finished first
      if (reaped) break;
    }
    if (!reaped) {
      ::kill(pid, SIGKILL);
      status = wait_for(pid);
    }
    std::string now = read_file(path);
    EXPECT_TRUE(now == "the old bytes" || now == big)
        << "a torn file of " << now.size() << " bytes";
    if (partial && WIFSIGNALED(status)) {
      EXPECT_EQ(now, "the old bytes");
      ++mid_write;
    }
  }
  EXPECT_EQ(mid_write, 1) << "no kill landed while the bytes were being written";
}

// Past a file-size limit (ulimit -f, as on a full disk) a checkpoint write fails with an
// error naming the file; the previous checkpoint stays and resumes.
TEST_F(CrashSafety, AFailedCheckpointWriteKeepsThePreviousOne) {
  std::string ckpt = (dir_ / "ckpt").string();
  std::string flags = " --data " + (dir_ / "data").string() +
                      " --batch-size 16 --threads 1 --quiet --checkpoint-dir " + ckpt;
  auto r =
      testing::onyx_cli("train --model " + (dir_ / "mlp.onnx").string() + " --epochs 1" + flags);
  ASSERT_EQ(r.status, 0) << r.out;
  std::string before = read_file(ckpt + "/last.onnx");
  // dash's ulimit -f counts 512-byte blocks: 4 KB, less than a checkpoint.
  r = testing::onyx_cli_raw("ulimit -f 8; " + std::string(ONYX_CLI) + " train --resume " + ckpt +
                            "/last.onnx --epochs 2" + flags);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("cannot write '" + ckpt + "/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("File too large"), std::string::npos) << r.out;
  EXPECT_TRUE(read_file(ckpt + "/last.onnx") == before);
  EXPECT_EQ(leftovers(ckpt), 0) << "the failed write's temporary file is removed";
  EXPECT_EQ(train::resume_point(onnx_io::load_model(ckpt + "/last.onnx")).epochs_done, 1);
}

}  // namespace
}  // namespace onyx
