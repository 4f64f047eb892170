//! The README's install (the completions and man pages `cargo install` users write), quick
//! start and daily use, run as written, against the stand-in acting as the org's login host
//! and instance. Every ```sh block of the three sections runs in bash,
//! in order, in one test home. A ```sh org block needs a real org: instead, the test does
//! to the stand-in what the block does there (the deploy gives the app the certificate the
//! External Client App carries; the Salesforce CLI query is left out).
//!
//! Only the README's placeholders are replaced: `you@example.com` by the stand-in's user,
//! `3MVG9...` by its consumer key, and `sfcred login` gets the stand-in's URL (the README
//! logs in to production).

use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, sfcred_exe};

struct Block {
    needs_org: bool,
    code: String,
}

/// The ```sh blocks between `## Install` and `## More`, in order.
fn runnable_blocks(readme: &str) -> Vec<Block> {
    let start = readme.find("\n## Install").expect("README has an Install section");
    let end = readme[start..].find("\n## More").map_or(readme.len(), |at| start + at);
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in readme[start..end].lines() {
        let fence = line.trim_start();
        match (&mut open, fence.strip_prefix("```")) {
            (None, Some(info)) if info.starts_with("sh") => {
                open = Some(Block {
                    needs_org: info.split_whitespace().nth(1) == Some("org"),
                    code: String::new(),
                });
            }
            (Some(_), Some("")) => blocks.push(open.take().expect("a block is open")),
            (Some(block), _) => {
                block.code.push_str(fence);
                block.code.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(open.is_none(), "a block of the README is never closed");
    blocks
}

fn with_placeholders_filled(code: &str, login_url: &str) -> String {
    code.replace("you@example.com", USERNAME)
        .replace("3MVG9...", CONSUMER_KEY)
        .replace("sfcred login ", &format!("sfcred login --login-url {login_url} "))
}

#[test]
fn the_install_quick_start_and_daily_use_work_as_written() {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = runnable_blocks(&readme);
    assert!(blocks.len() >= 8, "the README's blocks were found: {}", blocks.len());
    let bin_dir = std::path::Path::new(&sfcred_exe()).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    // One script per run of blocks between org steps, so that a variable set in one block
    // (eval "$(sfcred env ...)") is there for the next, as in the reader's shell.
    let mut script = String::from("set -euo pipefail\n");
    let run = |script: &str| {
        let out =
            env.command("bash").arg("-c").arg(script).env("PATH", &path).output_within(TIMEOUT).unwrap();
        Run::of(out).success()
    };
    let mut outputs = Vec::new();
    for block in &blocks {
        if !block.needs_org {
            script.push_str(&with_placeholders_filled(&block.code, env.stand_in.url()));
            continue;
        }
        outputs.push(run(&script));
        script = String::from("set -euo pipefail\n");
        if block.code.contains("sf project deploy start") {
            deploy_the_external_client_app(&env, &block.code);
        }
    }
    outputs.push(run(&script));

    let stdout: String = outputs.iter().map(|run| run.stdout.as_str()).collect();
    let stderr: String = outputs.iter().map(|run| run.stderr.as_str()).collect();
    // Each curl printed the instance's answer to an authorized REST call.
    assert_eq!(stdout.matches(r#""sobjects":"/services/data/v62.0/sobjects""#).count(), 3, "{stdout}");
    assert!(stdout.contains("live mint"), "doctor ran: {stdout}");
    assert!(stderr.contains("revoked its token"), "logout revoked the token: {stderr}");
    assert_eq!(env.stand_in.revocations(), 1);
    for written in [
        ".local/share/bash-completion/completions/sfcred",
        ".zfunc/_sfcred",
        ".config/fish/completions/sfcred.fish",
        ".local/share/man/man1/sfcred-token.1",
    ] {
        assert!(env.path(written).metadata().is_ok_and(|m| m.len() > 0), "{written}");
    }
}

/// What `sf project deploy start` does for the quick start: the app gets the certificate
/// written into the project's global OAuth settings.
fn deploy_the_external_client_app(env: &TestEnv, code: &str) {
    let project =
        code.split("cd ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("cd PROJECT");
    let settings = env.path(&format!("{project}/force-app/main/default/extlClntAppGlobalOauthSets"));
    let file = std::fs::read_dir(&settings)
        .unwrap_or_else(|e| panic!("{}: {e}", settings.display()))
        .next()
        .expect("eca wrote the global OAuth settings")
        .unwrap()
        .path();
    let xml = std::fs::read_to_string(file).unwrap();
    let certificate =
        xml.split("<certificate>").nth(1).and_then(|rest| rest.split("</certificate>").next()).unwrap();
    env.stand_in.upload_certificate(CONSUMER_KEY, &format!("{certificate}\n")).unwrap();
}
