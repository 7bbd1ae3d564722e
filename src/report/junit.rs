//! A many-chain run as JUnit XML (written by quick-junit, as cargo-nextest does), so CI
//! systems show one test case per chain, with the human report of a failing chain as its
//! failure message and text.

use crate::batch::{BatchReport, ChainResult};
use crate::replay::Status;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// With `--keep-going`, one more test case per export of a chain (`CHAIN#EXPORT`): failed
/// when any call of it diverged, with the count per kind. Per export rather than per call:
/// a chain can hold any number of calls, a CI page should not.
fn export_cases(suite: &mut TestSuite, chain: &str, report: &crate::replay::VerifyReport) {
    for tally in &report.exports {
        let status = if tally.diverged == 0 {
            TestCaseStatus::success()
        } else {
            let kinds: Vec<String> = tally.kinds.iter().map(|(kind, n)| format!("{} {n}", kind.code())).collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("diverged").set_message(format!(
                "{} of {} calls diverged: {}",
                tally.diverged,
                tally.calls,
                kinds.join(", ")
            ));
            status
        };
        let mut case = TestCase::new(format!("{chain}#{}", tally.export), status);
        case.set_classname("theater-replay.verify.export");
        case.set_assertions(usize::try_from(tally.calls).unwrap_or(usize::MAX));
        suite.add_test_case(case);
    }
}

/// The report: one suite named after the component, one test case per chain (named by its
/// path, in input order, with the chain's head as its property `head` when known). Verified
/// chains pass; diverged, broken and empty chains fail (`type` `diverged` / `broken` /
/// `empty`); chains that could not be replayed are errors; chains `--fail-fast` did not
/// start are skipped.
pub fn render(component: &str, batch: &BatchReport) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new(component);
    for result in &batch.results {
        let name = result.path().display().to_string();
        let mut case = match result {
            ChainResult::NotRun(_) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message("not run: --fail-fast stopped the run at an earlier failure");
                TestCase::new(name, status)
            }
            ChainResult::Finished(verdict) => {
                let text = super::verify::human(&verdict.report, &name);
                let status = match verdict.report.status {
                    Status::Verified => TestCaseStatus::success(),
                    failed => {
                        let (kind, ty) = match failed {
                            Status::Diverged => (NonSuccessKind::Failure, "diverged"),
                            Status::Broken => (NonSuccessKind::Failure, "broken"),
                            // Nothing was verified: a gate must not pass on it.
                            Status::Empty => (NonSuccessKind::Failure, "empty"),
                            _ => (NonSuccessKind::Error, "error"),
                        };
                        let mut status = TestCaseStatus::non_success(kind);
                        // The headline as the message (shown in one-line listings), the whole
                        // report (expected/actual, guest stack, advice) as the text.
                        status
                            .set_type(ty)
                            .set_message(text.lines().next().unwrap_or(ty))
                            .set_description(text.trim_end());
                        status
                    }
                };
                let mut case = TestCase::new(name, status);
                if let Some(head) = &verdict.report.head {
                    // What to pin with `verify --head`.
                    case.add_property(quick_junit::Property::new("head", head.as_str()));
                }
                case.set_time(verdict.elapsed);
                case.set_assertions(usize::try_from(verdict.report.events_verified).unwrap_or(usize::MAX));
                case
            }
        };
        case.set_classname("theater-replay.verify");
        suite.add_test_case(case);
        if let ChainResult::Finished(verdict) = result {
            export_cases(&mut suite, &result.path().display().to_string(), &verdict.report);
        }
    }
    suite.set_time(batch.elapsed);
    let mut report = Report::new("theater-replay verify");
    report.set_time(batch.elapsed);
    report.add_test_suite(suite);
    report.to_string()
}
