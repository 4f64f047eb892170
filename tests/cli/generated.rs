//! completions/ and man/ are generated from the command line's definition and
//! committed. These tests fail when they fall behind; `SFCRED_UPDATE_GENERATED=1 cargo
//! test generated` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use sfcred::cli::Cli;

use crate::support::{Run, TIMEOUT, TestEnv, WaitWithin};

const SHELLS: [(&str, &str); 5] = [
    ("bash", "sfcred.bash"),
    ("zsh", "_sfcred"),
    ("fish", "sfcred.fish"),
    ("powershell", "sfcred.ps1"),
    ("elvish", "sfcred.elv"),
];

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Compares `expected` (file name → content) with `dir`, or rewrites `dir` when asked.
fn check_generated(dir: &str, expected: BTreeMap<String, Vec<u8>>) {
    let dir = repo(dir);
    if std::env::var_os("SFCRED_UPDATE_GENERATED").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in &expected {
            std::fs::write(dir.join(name), content).unwrap();
        }
        return;
    }
    let mut actual = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        actual
            .insert(path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap());
    }
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&actual),
        names(&expected),
        "{} is stale: SFCRED_UPDATE_GENERATED=1 cargo test",
        dir.display()
    );
    for (name, content) in &expected {
        assert!(
            actual[name] == *content,
            "{name} is stale: run SFCRED_UPDATE_GENERATED=1 cargo test generated"
        );
    }
}

#[test]
fn completions_are_current() {
    let env = TestEnv::without_keychain();
    let mut expected = BTreeMap::new();
    for (shell, file) in SHELLS {
        let run = Run::of(env.sfcred().env("COMPLETE", shell).output_within(TIMEOUT).unwrap()).success();
        expected.insert(file.to_owned(), run.stdout.into_bytes());
    }
    check_generated("completions", expected);
}

#[test]
fn man_pages_are_current() {
    let out = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(Cli::command(), out.path()).unwrap();
    let mut expected = BTreeMap::new();
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        expected
            .insert(path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap());
    }
    assert!(expected.contains_key("sfcred-token.1") && expected.contains_key("sfcred-credential.1"));
    check_generated("man", expected);
}

#[test]
fn the_reference_lists_every_environment_variable() {
    let path = repo("docs/reference.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- env-vars -->\n", "<!-- /env-vars -->");
    let (before, rest) = readme.split_once(start).expect("docs/reference.md has the env-vars markers");
    let (current, after) = rest.split_once(end).expect("docs/reference.md has the env-vars end marker");
    let table = sfcred::config::env_vars::markdown_table();
    if std::env::var_os("SFCRED_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, format!("{before}{start}{table}{end}{after}")).unwrap();
        return;
    }
    assert!(
        current == table,
        "docs/reference.md's variable table is stale: run SFCRED_UPDATE_GENERATED=1 cargo test generated"
    );
}

#[test]
fn man_pages_render() {
    for entry in std::fs::read_dir(repo("man")).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new("man")
            .arg("-l")
            .arg(&path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output_within(TIMEOUT)
            .expect("man runs (scripts/test installs man-db)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{}: {text}", path.display());
    }
}

#[test]
fn the_token_man_page_documents_its_options() {
    let page = std::fs::read_to_string(repo("man/sfcred-token.1")).unwrap();
    for option in ["\\-\\-min\\-valid", "\\-\\-refresh", "exec\\-credential"] {
        assert!(page.contains(option), "{option} missing");
    }
    let page = std::fs::read_to_string(repo("man/sfcred-credential.1")).unwrap();
    assert!(page.contains("min_valid_secs") && page.contains("not_logged_in"), "protocol documented");
}

/// A shell with sfcred on its PATH and two profiles in the settings.
fn completion_env() -> TestEnv {
    let env = TestEnv::new();
    env.login("prod-eu").success();
    let mut args = env.login_args("sandbox1");
    args.push("--no-verify".into());
    env.run(&args).success();
    env.run(&["use", "sandbox1"]).success();
    env.run(&["keygen", "-p", "staged"]).success();
    env
}

fn shell(env: &TestEnv, program: &str, script: &str) -> Run {
    let bin_dir = Path::new(&crate::support::sfcred_exe()).parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    Run::of(env.command(program).env("PATH", path).arg("-c").arg(script).output_within(TIMEOUT).unwrap())
}

#[test]
fn bash_completes_profile_names_and_subcommands() {
    let env = completion_env();
    let script = format!(
        r#"source '{}'
complete_line() {{
  COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}
  read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
  fn=$(complete -p sfcred | sed -E 's/.* -F ([^ ]+) .*/\1/')
  COMPREPLY=(); "$fn" sfcred "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
  printf '%s\n' "${{COMPREPLY[@]}}"
}}
complete_line "sfcred token --profile "
echo ---
complete_line "sfcred tok"
"#,
        repo("completions/sfcred.bash").display()
    );
    let run = shell(&env, "bash", &script).success();
    let (profiles, subcommands) = run.stdout.split_once("---\n").unwrap();
    let mut profiles: Vec<&str> = profiles.lines().map(str::trim).collect();
    profiles.sort();
    assert_eq!(profiles, ["prod-eu", "sandbox1", "staged"], "{run:?}");
    assert_eq!(subcommands.trim(), "token", "{run:?}");
}

#[test]
fn fish_completes_profile_names() {
    let env = completion_env();
    let script = format!(
        "source '{}'; complete -C 'sfcred token --profile '",
        repo("completions/sfcred.fish").display()
    );
    let run = shell(&env, "fish", &script).success();
    let mut names: Vec<&str> = run.stdout.lines().map(|l| l.split('\t').next().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["prod-eu", "sandbox1", "staged"], "{run:?}");
    // fish shows each name's help: who it logs in as, which is the default, a key alone.
    assert!(
        run.stdout.lines().any(|l| l.starts_with("sandbox1\t") && l.ends_with("(the default)")),
        "{run:?}"
    );
    assert!(run.stdout.contains("staged\tkey only, not logged in"), "{run:?}");
}

#[test]
fn elvish_completes_profile_names() {
    let env = completion_env();
    // The script sets `edit:completion:arg-completer`, and elvish has its `edit:` module only
    // in an interactive session with a terminal: here the script runs in a namespace that
    // holds that one map, and the completer it put there is called as the editor would.
    let script = format!(
        r#"var code = (slurp < '{}')
var edit = (ns [&completion:=(ns [&arg-completer=[&]])])
eval $code"\n"'$edit:completion:arg-completer[sfcred] sfcred token --profile ""' &ns=(ns [&edit:=$edit])"#,
        repo("completions/sfcred.elv").display()
    );
    let run = shell(&env, "elvish", &script).success();
    let mut names: Vec<&str> = run.stdout.lines().collect();
    names.sort();
    assert_eq!(names, ["prod-eu", "sandbox1", "staged"], "{run:?}");
}

#[test]
fn the_completions_and_man_commands_print_what_is_installed() {
    let env = TestEnv::without_keychain();
    for (shell, file) in SHELLS {
        let printed = env.run(&["completions", shell]).success().stdout;
        assert_eq!(printed, std::fs::read_to_string(repo("completions").join(file)).unwrap(), "{shell}");
    }
    let out = env.path("pages");
    env.run(&["man", "--out", out.to_str().unwrap()]).success();
    for entry in std::fs::read_dir(repo("man")).unwrap() {
        let path = entry.unwrap().path();
        let written = std::fs::read(out.join(path.file_name().unwrap())).unwrap();
        assert!(written == std::fs::read(&path).unwrap(), "{}", path.display());
    }
    let page = env.run(&["man"]).success().stdout;
    assert_eq!(page, std::fs::read_to_string(repo("man/sfcred.1")).unwrap());
    let refused = env.run(&["completions", "tcsh"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("[possible values: bash, elvish, fish, powershell, zsh]"), "{refused:?}");
}
