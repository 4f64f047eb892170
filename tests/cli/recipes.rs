//! The README's install, quick start and daily use, and every recipe in `docs/`, run as
//! written against the stand-in acting as the org's login host and instance. Each page's
//! ```sh blocks run in order in one bash, as in the reader's shell (a variable one block sets
//! is there for the next). Between blocks the test does what the reader does by hand: the
//! prose's "Upload `X.crt`" uploads that certificate to the app.
//!
//! A block's tag says why it is not run: `sh org` needs a real org or the Salesforce CLI
//! (the test does to the stand-in what a deploy does there), `sh machine` needs the
//! machine itself (installs on it, or logs in with its keychain and terminal), `sh dev` runs the project's own scripts (scripts/test runs this test). `sh
//! checkout` runs from the repository's root, as from a clone or a release archive.
//!
//! Only the pages' placeholders are replaced: the users, `3MVG9...`/`CONSUMER_KEY` by the
//! stand-in's consumer key, the example PIN by the test token's, and the login host (`sfcred
//! login` and `SFCRED_SANDBOX=1`) by the stand-in's URL.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::support::{
    CONSUMER_KEY, PipeReader, TIMEOUT, TOKEN_PIN, TestEnv, USERNAME, WaitWithin, sfcred_exe,
};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

enum Part {
    /// A fenced ```sh block: its tag (the word after `sh`) and its code.
    Block { tag: Option<String>, code: String },
    /// The text between blocks.
    Prose(String),
}

/// The page's ```sh blocks and the prose between them, in order.
fn parts(page: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut prose = String::new();
    let mut open: Option<(Option<String>, String)> = None;
    for line in page.lines() {
        let fence = line.trim_start();
        match (&mut open, fence.strip_prefix("```")) {
            (None, Some(info)) if info == "sh" || info.starts_with("sh ") => {
                parts.push(Part::Prose(std::mem::take(&mut prose)));
                open = Some((info.split_whitespace().nth(1).map(str::to_owned), String::new()));
            }
            (Some(_), Some("")) => {
                let (tag, code) = open.take().expect("a block is open");
                parts.push(Part::Block { tag, code });
            }
            (Some((_, code)), _) => {
                code.push_str(fence);
                code.push('\n');
            }
            (None, _) => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    assert!(open.is_none(), "a block is never closed");
    parts.push(Part::Prose(prose));
    parts
}

fn with_placeholders_filled(code: &str, login_url: &str, redis: &str) -> String {
    code.replace("rediss://sfcred:PASSWORD@redis.internal:6380", redis)
        .replace("you@example.com", USERNAME)
        .replace("ci@example.com", USERNAME)
        .replace("3MVG9...", CONSUMER_KEY)
        .replace("CONSUMER_KEY", CONSUMER_KEY)
        .replace("SFCRED_PKCS11_PIN=123456", &format!("SFCRED_PKCS11_PIN={TOKEN_PIN}"))
        .replace("export SFCRED_SANDBOX=1", &format!("export SFCRED_LOGIN_URL={login_url}"))
        .replace("sfcred login ", &format!("sfcred login --login-url {login_url} "))
}

/// What one page printed, once every block of it ran.
struct Ran {
    stdout: String,
    stderr: String,
    blocks: usize,
}

/// Runs `page`'s blocks in one bash in the test home; panics with what it printed when a
/// block fails.
fn run_page(env: &TestEnv, page: &str) -> Ran {
    run_page_with(env, page, "redis://127.0.0.1:1")
}

/// [`run_page`], the fleet's Redis at `redis` (the pages name one at redis.internal).
fn run_page_with(env: &TestEnv, page: &str, redis: &str) -> Ran {
    let bin_dir = Path::new(&sfcred_exe()).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut bash = env
        .command("bash")
        .arg("-s")
        .env("PATH", &path)
        .current_dir(env.home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = bash.stdin.take().unwrap();
    let mut stdout = PipeReader::new(bash.stdout.take().unwrap());
    let stderr = std::cell::RefCell::new(Some(PipeReader::new(bash.stderr.take().unwrap())));
    // Waits until block `n` ran; a block that failed ends bash, and its stderr is shown.
    let ran = |stdout: &mut PipeReader, n: usize| {
        if let Err(e) = stdout.try_read_until(&format!("<<block {n} ran>>"), TIMEOUT) {
            let said = stderr.borrow_mut().take().map(|s| s.rest(TIMEOUT)).unwrap_or_default();
            panic!("{e}\nstderr:\n{said}");
        }
    };
    stdin.write_all(b"set -euo pipefail\n").unwrap();
    let mut blocks = 0;
    for part in parts(page) {
        match part {
            Part::Block { tag: None, code } => {
                blocks += 1;
                let code = with_placeholders_filled(&code, env.stand_in.url(), redis);
                stdin.write_all(format!("{code}\necho '<<block {blocks} ran>>'\n").as_bytes()).unwrap();
            }
            Part::Block { tag: Some(tag), code } if tag == "checkout" => {
                blocks += 1;
                stdin
                    .write_all(format!("(cd '{REPO}'\n{code})\necho '<<block {blocks} ran>>'\n").as_bytes())
                    .unwrap();
            }
            Part::Block { tag: Some(tag), code } if tag == "org" => {
                if code.contains("sf project deploy start") {
                    ran(&mut stdout, blocks);
                    deploy_the_external_client_app(env, &code);
                }
            }
            Part::Block { tag: Some(tag), .. } => {
                assert!(tag == "machine" || tag == "dev", "a block tagged {tag:?}, which no rule covers");
            }
            Part::Prose(prose) => {
                for file in prose.split("Upload `").skip(1).filter_map(|rest| rest.split('`').next()) {
                    ran(&mut stdout, blocks);
                    let certificate = std::fs::read_to_string(env.path(file)).unwrap();
                    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
                }
            }
        }
    }
    drop(stdin);
    if blocks > 0 {
        ran(&mut stdout, blocks);
    }
    let status = bash.wait_within(TIMEOUT).unwrap();
    let stderr = stderr.take().expect("stderr is read once").rest(TIMEOUT);
    let stdout = stdout.rest(TIMEOUT);
    assert!(status.success(), "{status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    Ran { stdout, stderr, blocks }
}

/// What `sf project deploy start` does: the app gets the certificate written into the
/// project's global OAuth settings.
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

fn page(relative: &str) -> String {
    std::fs::read_to_string(Path::new(REPO).join(relative)).unwrap()
}

/// The REST answer the stand-in gives an authorized call, as each curl prints it.
const REST_ANSWER: &str = r#""sobjects":"/services/data/v62.0/sobjects""#;

#[test]
fn the_install_quick_start_and_daily_use_work_as_written() {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    let readme = page("README.md");
    let start = readme.find("\n## Install").expect("README has an Install section");
    let end = readme[start..].find("\n## More").map_or(readme.len(), |at| start + at);
    let redis = crate::fleet::Redis::start(&[]);
    // The fleet's block runs on a machine whose cache already holds a token: a hit, which
    // asks Redis nothing (tests/cli/fleet.rs has the fleet's own tests).
    let ran = run_page_with(&env, &readme[start..end], &redis.url());
    assert!(!ran.stderr.contains("shared cache"), "no warning of the fleet's Redis: {}", ran.stderr);
    assert!(ran.blocks >= 8, "the README's blocks were found: {}", ran.blocks);
    assert_eq!(ran.stdout.matches(REST_ANSWER).count(), 3, "{}", ran.stdout);
    assert!(ran.stdout.contains("live mint"), "doctor ran: {}", ran.stdout);
    assert!(ran.stderr.contains("revoked its token"), "logout revoked the token: {}", ran.stderr);
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

#[test]
fn the_reference_s_step_by_step_works_as_written() {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    let ran = run_page(&env, &page("docs/reference.md"));
    assert_eq!(ran.stdout.matches(REST_ANSWER).count(), 1, "{}", ran.stdout);
    assert!(env.path(".config/elvish/rc.elv").exists(), "the completions were copied");
}

#[test]
fn the_ci_recipe_mints_from_the_environment() {
    let env = TestEnv::without_keychain();
    env.write("ci.key", &crate::support::app_keys().0);
    env.write("fleet.key", "kOJOZz1x0Gq2b3Y8oK7b3q5b8n3m9F1pQ2r4S6t8V0w=\n");
    let redis = crate::fleet::Redis::start(&[]);
    let ran = run_page_with(&env, &page("docs/ci.md"), &redis.url());
    assert!(ran.stdout.starts_with("00DSTANDIN"), "{}", ran.stdout);
    let tokens: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with("00DSTANDIN")).collect();
    assert_eq!(tokens.len(), 2, "{}", ran.stdout);
    assert_eq!(tokens[0], tokens[1], "the fleet's recipe serves the machine's cached token");
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
}

#[test]
fn the_pkcs11_recipe_mints_with_a_key_on_the_token() {
    let env = TestEnv::new();
    env.softhsm_token("sfcred");
    let ran = run_page(&env, &page("docs/pkcs11.md"));
    assert!(ran.stdout.contains("\"access_token\""), "{}", ran.stdout);
    assert!(ran.stderr.contains("cannot be copied off the token"), "{}", ran.stderr);
}

#[test]
fn the_protocol_recipes_hand_out_the_token() {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    env.login("prod").success();
    let ran = run_page(&env, &page("docs/protocols.md"));
    assert_eq!(ran.stdout.matches(REST_ANSWER).count(), 1, "{}", ran.stdout);
    let git = std::fs::read_to_string(env.path(".gitconfig")).unwrap();
    assert!(git.contains("helper = !sfcred git-credential"), "{git}");
}

#[test]
fn the_rotation_recipe_rotates_and_gives_up() {
    let env = TestEnv::new();
    env.login("prod").success();
    let ran = run_page(&env, &page("docs/rotation.md"));
    assert!(ran.stderr.contains("removed") && ran.stderr.contains("prod.next.crt"), "{}", ran.stderr);
    assert!(!env.path("prod.next.crt").exists(), "abort removed the certificate start wrote");
}
