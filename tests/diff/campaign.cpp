#include "diff/campaign.hpp"

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

namespace transit86::diff {

namespace {

// Child -> parent messages: a length-prefixed record per finished case, or a setup error.
enum class Tag : uint8_t { Result = 1, SetupError = 2 };

class Writer {
  public:
    void u8(uint8_t v) { bytes_.push_back(v); }
    void u64(uint64_t v) {
        for (int i = 0; i < 8; ++i)
            u8(static_cast<uint8_t>(v >> (8 * i)));
    }
    void str(const std::string& s) {
        u64(s.size());
        bytes_.insert(bytes_.end(), s.begin(), s.end());
    }
    // Sends the record: its length, then its bytes.
    bool send(int fd) {
        std::vector<uint8_t> framed;
        const uint64_t n = bytes_.size();
        for (int i = 0; i < 8; ++i)
            framed.push_back(static_cast<uint8_t>(n >> (8 * i)));
        framed.insert(framed.end(), bytes_.begin(), bytes_.end());
        size_t done = 0;
        while (done < framed.size()) {
            const ssize_t w = ::write(fd, framed.data() + done, framed.size() - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return false;
            done += static_cast<size_t>(w);
        }
        return true;
    }

  private:
    std::vector<uint8_t> bytes_;
};

class Reader {
  public:
    explicit Reader(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
    uint8_t u8() { return at_ < bytes_.size() ? bytes_[at_++] : 0; }
    uint64_t u64() {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= uint64_t{u8()} << (8 * i);
        return v;
    }
    std::string str() {
        const uint64_t n = std::min<uint64_t>(u64(), bytes_.size() - at_);
        std::string s(bytes_.begin() + static_cast<std::ptrdiff_t>(at_),
                      bytes_.begin() + static_cast<std::ptrdiff_t>(at_ + n));
        at_ += n;
        return s;
    }

  private:
    std::vector<uint8_t> bytes_;
    size_t at_ = 0;
};

bool read_exact(int fd, uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
        const ssize_t r = ::read(fd, out + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        done += static_cast<size_t>(r);
    }
    return true;
}

// One record, or nullopt at end of stream.
std::optional<Reader> receive(int fd) {
    uint8_t header[8];
    if (!read_exact(fd, header, 8)) return std::nullopt;
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i)
        n |= uint64_t{header[i]} << (8 * i);
    std::vector<uint8_t> body(n);
    if (n != 0 && !read_exact(fd, body.data(), n)) return std::nullopt;
    return Reader(std::move(body));
}

void encode(Writer& w, uint64_t index, const CaseResult& r) {
    w.u8(static_cast<uint8_t>(Tag::Result));
    w.u64(index);
    w.u8(static_cast<uint8_t>(r.status));
    w.u64(r.compared);
    w.str(r.op);
    w.str(r.end);
    w.str(r.report);
    w.u64(r.fields.size());
    for (const auto& f : r.fields)
        w.str(f);
    w.u64(r.compared_ops.size());
    for (const auto op : r.compared_ops)
        w.u8(static_cast<uint8_t>(op));
}

CaseResult decode_result(Reader& rd) {
    CaseResult r;
    r.status = static_cast<CaseStatus>(rd.u8());
    r.compared = static_cast<uint32_t>(rd.u64());
    r.op = rd.str();
    r.end = rd.str();
    r.report = rd.str();
    for (uint64_t n = rd.u64(); n > 0; --n)
        r.fields.push_back(rd.str());
    for (uint64_t n = rd.u64(); n > 0; --n)
        r.compared_ops.push_back(static_cast<decoder::Op>(rd.u8()));
    return r;
}

[[noreturn]] void child_main(int fd, const OracleFactory& make_oracle, const RunnerOptions& options,
                             uint64_t first, uint64_t count, const SpecAt& spec_at) {
    std::string error;
    auto oracle = make_oracle(error);
    if (oracle == nullptr) {
        Writer w;
        w.u8(static_cast<uint8_t>(Tag::SetupError));
        w.str(error);
        w.send(fd);
        ::_exit(1);
    }
    CaseRunner runner(*oracle, options);
    for (uint64_t i = first; i < count; ++i) {
        const CaseSpec spec = spec_at(i);
        const CaseResult r = runner.run(spec.seed, spec.mode);
        std::fflush(stdout); // verbose output, before the result that follows it
        Writer w;
        encode(w, i, r);
        if (!w.send(fd)) ::_exit(1);
    }
    ::_exit(0);
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
    return fmt::format("exit status {}", WEXITSTATUS(status));
}

} // namespace

void run_in_process(Oracle& oracle, const RunnerOptions& options, uint64_t count,
                    const SpecAt& spec_at, const ResultSink& sink) {
    CaseRunner runner(oracle, options);
    for (uint64_t i = 0; i < count; ++i) {
        const CaseSpec spec = spec_at(i);
        sink(spec, runner.run(spec.seed, spec.mode));
    }
}

bool run_isolated(const OracleFactory& make_oracle, const RunnerOptions& options, uint64_t count,
                  const SpecAt& spec_at, const ResultSink& sink, std::string& error) {
    uint64_t next = 0;
    while (next < count) {
        int fds[2];
        if (::pipe(fds) != 0) {
            error = std::string("pipe: ") + std::strerror(errno);
            return false;
        }
        std::fflush(stdout);
        std::fflush(stderr);
        const pid_t pid = ::fork();
        if (pid < 0) {
            error = std::string("fork: ") + std::strerror(errno);
            return false;
        }
        if (pid == 0) {
            ::close(fds[0]);
            child_main(fds[1], make_oracle, options, next, count, spec_at);
        }
        ::close(fds[1]);
        while (auto rd = receive(fds[0])) {
            const auto tag = static_cast<Tag>(rd->u8());
            if (tag == Tag::SetupError) {
                error = rd->str();
                ::close(fds[0]);
                ::waitpid(pid, nullptr, 0);
                return false;
            }
            const uint64_t index = rd->u64();
            sink(spec_at(index), decode_result(*rd));
            next = index + 1;
        }
        ::close(fds[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (next < count && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            // The child died on case `next`: report it and go on after it.
            const CaseSpec spec = spec_at(next);
            CaseResult r;
            r.status = CaseStatus::SkippedOracle;
            r.op = "(oracle crashed)";
            r.report = fmt::format("{} case {:#018x}: the oracle process died ({})\n",
                                   to_string(spec.mode), spec.seed, describe_status(status));
            sink(spec, r);
            ++next;
        }
    }
    return true;
}

} // namespace transit86::diff
