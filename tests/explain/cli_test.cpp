// `transit86 explain` as a user runs it: exit status 0 (valid as far as shown), 1 (fails),
// 2 (no usable dump, with one line on stderr), text and JSON output, standard input.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

#include "dumps.hpp"

namespace transit86::tools::explain {
namespace {

struct CliRun {
    int status = -1;
    std::string out;
    std::string err;
};

std::string slurp(const std::filesystem::path& path) {
    std::ifstream file(path);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Runs `transit86 explain ARGS` through the shell; `input` goes to standard input.
CliRun explain_cli(const std::string& args, const std::string& input = "") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("explain_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto in = dir / "in", out = dir / "out", err = dir / "err";
    std::ofstream(in) << input;
    const std::string command = std::string("'") + TRANSIT86_CLI + "' explain " + args + " <'" +
                                in.string() + "' >'" + out.string() + "' 2>'" + err.string() + "'";
    const int raw = std::system(command.c_str());
    CliRun run;
    run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    run.out = slurp(out);
    run.err = slurp(err);
    std::filesystem::remove_all(dir);
    return run;
}

std::string dump_arg(const std::string& name) {
    return "'" + testing::dump_path(name) + "'";
}

void expect_usage_error(const CliRun& run, const std::string& words) {
    EXPECT_EQ(run.status, 2);
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_EQ(run.err.rfind("transit86: error: ", 0), 0u) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_NE(run.err.find(words), std::string::npos) << run.err;
}

TEST(ExplainCli, EmptyFileIsAUsageError) {
    expect_usage_error(explain_cli("-", ""), "empty");
}

TEST(ExplainCli, GarbageIsAUsageError) {
    expect_usage_error(explain_cli("-", "hello\nworld\n0x80000021\n"), "no register dump found");
}

TEST(ExplainCli, TruncatedDumpIsAUsageError) {
    expect_usage_error(explain_cli(dump_arg("dosemu2-1274-tail.txt")),
                       "no guest segment registers");
    expect_usage_error(explain_cli("-", "[ 1.0] kvm_intel: *** Guest State ***\n"
                                        "[ 1.0] kvm_intel: CR0: actual=0x0000000080050033,"),
                       "no guest segment registers");
}

TEST(ExplainCli, MissingFileIsAUsageError) {
    expect_usage_error(explain_cli("/nonexistent/dump.txt"), "cannot open");
}

TEST(ExplainCli, FailingDumpExitsOne) {
    const CliRun run = explain_cli(dump_arg("edk2-91.txt"));
    EXPECT_EQ(run.status, 1) << run.err;
    EXPECT_NE(run.out.find("Linux kvm_intel VMCS dump"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("FAIL sdm.rflags.if-for-external-interrupt"), std::string::npos);
    EXPECT_NE(run.out.find("KVM misses"), std::string::npos);
    EXPECT_NE(run.out.find("not judged"), std::string::npos);
}

TEST(ExplainCli, ValidDumpExitsZero) {
    const CliRun run = explain_cli(dump_arg("edk2-23.txt"));
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_NE(run.out.find("VALID as far as the dump shows"), std::string::npos) << run.out;
}

TEST(ExplainCli, ReadsStandardInput) {
    const CliRun run = explain_cli("-", testing::read_dump("pe_entry-after-mov-cr0.qemu.txt"));
    EXPECT_EQ(run.status, 1) << run.err;
    EXPECT_NE(run.out.find("QEMU register dump"), std::string::npos) << run.out;
}

TEST(ExplainCli, Json) {
    const CliRun run = explain_cli("--json " + dump_arg("pe_entry-after-mov-cr0.kvm_intel.txt"));
    EXPECT_EQ(run.status, 1) << run.err;
    const nlohmann::json doc = nlohmann::json::parse(run.out);
    EXPECT_EQ(doc["format"], "kvm_intel");
    EXPECT_EQ(doc["valid"], false);
    EXPECT_EQ(doc["kvm"]["verdict"], "invalid");
    EXPECT_EQ(doc["assumptions"]["unrestricted_guest"]["value"], false);
    EXPECT_EQ(doc["failing"].size(), 10u);
    EXPECT_EQ(doc["state"]["cr0"], "0x60000011");
    bool cs_type = false;
    for (const auto& f : doc["failing"])
        if (f["id"] == "sdm.cs.type") cs_type = f["kvm"] == "catches";
    EXPECT_TRUE(cs_type);
}

TEST(ExplainCli, UnrestrictedFlag) {
    const CliRun run =
        explain_cli("--unrestricted --json " + dump_arg("pe_entry-after-mov-cr0.kvm_intel.txt"));
    EXPECT_EQ(run.status, 1) << run.err;
    EXPECT_EQ(nlohmann::json::parse(run.out)["failing"].size(), 3u);
    const CliRun both = explain_cli("--unrestricted --no-unrestricted " +
                                    dump_arg("pe_entry-after-mov-cr0.kvm_intel.txt"));
    EXPECT_EQ(both.status, 2);
}

} // namespace
} // namespace transit86::tools::explain
