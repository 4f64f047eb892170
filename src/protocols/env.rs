//! The environment variables the Salesforce CLI and older sfdx-based tools read a
//! token from, and their export lines for each shell (`sfcred env`, `sfcred exec`).

use crate::base::choice::choice_enum;
use crate::token::Token;

choice_enum! {
    /// The shells `sfcred env` prints for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Shell {
        Bash => "bash", "export lines for bash";
        Zsh => "zsh", "export lines for zsh";
        Fish => "fish", "set -gx lines for fish";
        Powershell => "powershell", "$Env: lines for PowerShell";
    }
}

impl Shell {
    /// The shell a `$SHELL` path names; without one, the platform's own: PowerShell on
    /// Windows (where only Git Bash and the like set `SHELL`), else bash.
    pub fn from_path(shell: Option<&str>) -> Shell {
        let Some(path) = shell else {
            return if cfg!(windows) { Shell::Powershell } else { Shell::Bash };
        };
        let file = path.rsplit(['/', '\\']).next().unwrap_or_default();
        match file.strip_suffix(".exe").unwrap_or(file) {
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            "pwsh" | "powershell" => Shell::Powershell,
            _ => Shell::Bash,
        }
    }
}

/// `SF_TARGET_ORG` holds the token itself: the Salesforce CLI accepts an access token as
/// a target org when `SF_ORG_INSTANCE_URL` names the instance.
pub fn variables(token: &Token) -> Vec<(&'static str, String)> {
    let secret = token.secret().to_owned();
    let instance = token.instance_url.clone();
    vec![
        ("SF_ACCESS_TOKEN", secret.clone()),
        ("SF_ORG_INSTANCE_URL", instance.clone()),
        ("SF_TARGET_ORG", secret.clone()),
        ("SFDX_ACCESS_TOKEN", secret),
        ("SFDX_INSTANCE_URL", instance),
    ]
}

/// One line per variable, quoted so that the shell takes every value literally.
pub fn export_lines(shell: Shell, variables: &[(&str, String)]) -> String {
    variables
        .iter()
        .map(|(name, value)| match shell {
            Shell::Bash | Shell::Zsh => format!("export {name}='{}'\n", value.replace('\'', r"'\''")),
            Shell::Fish => format!("set -gx {name} '{}'\n", value.replace('\\', r"\\").replace('\'', r"\'")),
            Shell::Powershell => format!("$Env:{name} = '{}'\n", powershell_quoted(value)),
        })
        .collect()
}

/// The inside of a PowerShell single-quoted string: PowerShell takes ' and the typographic
/// single quotes ‘ ’ ‚ ‛ alike as its delimiters, and each is escaped by doubling it.
fn powershell_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_comes_from_its_path_else_the_platform() {
        assert_eq!(Shell::from_path(Some("/usr/bin/fish")), Shell::Fish);
        assert_eq!(Shell::from_path(Some(r"C:\Program Files\PowerShell\7\pwsh.exe")), Shell::Powershell);
        assert_eq!(Shell::from_path(Some("/bin/sh")), Shell::Bash);
        let platform = if cfg!(windows) { Shell::Powershell } else { Shell::Bash };
        assert_eq!(Shell::from_path(None), platform);
    }

    #[test]
    fn powershell_escapes_every_single_quote_it_knows() {
        let vars = [("X", "a'b\u{2018}c\u{2019}d\u{201A}e\u{201B}f".to_owned())];
        assert_eq!(
            export_lines(Shell::Powershell, &vars),
            "$Env:X = 'a''b\u{2018}\u{2018}c\u{2019}\u{2019}d\u{201A}\u{201A}e\u{201B}\u{201B}f'\n"
        );
    }

    #[test]
    fn quoting_keeps_values_literal() {
        let vars = [("X", r"a'b\c $HOME `x` !".to_owned())];
        assert_eq!(export_lines(Shell::Bash, &vars), "export X='a'\\''b\\c $HOME `x` !'\n");
        assert_eq!(export_lines(Shell::Fish, &vars), "set -gx X 'a\\'b\\\\c $HOME `x` !'\n");
        assert_eq!(export_lines(Shell::Powershell, &vars), "$Env:X = 'a''b\\c $HOME `x` !'\n");
    }
}
