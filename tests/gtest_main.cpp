// main() of every GoogleTest program here (cmake/transit86_gtest.cmake): GoogleTest's own,
// plus exit status 77 when tests were selected and every one of them skipped, so that ctest
// reports a suite run as one test (the sanitizer builds) as skipped rather than passed, and
// still as failed whenever one test failed.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    const int status = RUN_ALL_TESTS();
    const testing::UnitTest& run = *testing::UnitTest::GetInstance();
    if (status == 0 && run.successful_test_count() == 0 && run.skipped_test_count() > 0) return 77;
    return status;
}
