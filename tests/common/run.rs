//! A finished run of sfcred, shared by both integration test binaries (`tests/cli`,
//! `tests/portable`), each of which includes this file as its module `run`.

use std::process::Output;

/// A finished sfcred run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(out: Output) -> Run {
        Run {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit code {code}:\n{self:#?}");
        assert!(self.stdout.is_empty(), "a failure printed on stdout:\n{self:#?}");
        assert!(self.stderr.contains("hint: "), "an error without a hint:\n{self:#?}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}
