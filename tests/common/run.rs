//! A finished run of sfcred, shared by both integration test binaries (`tests/cli`,
//! `tests/portable`), each of which includes this file as its module `run`.

use std::process::{Child, Command, Output, Stdio};

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

    /// The check named `name` of `doctor --json`'s output.
    #[track_caller]
    pub fn doctor_check(&self, name: &str) -> serde_json::Value {
        let checks = self.json();
        let found = checks.as_array().and_then(|checks| checks.iter().find(|c| c["name"] == name));
        found.cloned().unwrap_or_else(|| panic!("no {name:?} check in {checks}"))
    }
}

/// Starts `cmd` with `input` on its stdin (closed afterwards) and stdout and stderr captured.
/// The input is written on a thread: a child that neither reads nor exits must not block the
/// test, and one that stops reading early closes the pipe, which is its answer, not ours.
pub fn spawn_with_stdin(cmd: &mut Command, input: &[u8]) -> Child {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
    });
    child
}
