//! The environment variables the Salesforce CLI and older sfdx-based tools read a
//! token from, and their export lines for each shell (`sfcred env`, `sfcred exec`).

use secrecy::zeroize::Zeroizing;

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
pub fn variables(token: &Token) -> Vec<(&'static str, Zeroizing<String>)> {
    let secret = || Zeroizing::new(token.secret().to_owned());
    let instance = || Zeroizing::new(token.instance_url.clone());
    vec![
        ("SF_ACCESS_TOKEN", secret()),
        ("SF_ORG_INSTANCE_URL", instance()),
        ("SF_TARGET_ORG", secret()),
        ("SFDX_ACCESS_TOKEN", secret()),
        ("SFDX_INSTANCE_URL", instance()),
    ]
}

/// One line per variable, quoted so that the shell takes every value literally. The
/// buffer is sized up front and wiped when dropped, as the values hold the token.
pub fn export_lines(shell: Shell, variables: &[(&str, Zeroizing<String>)]) -> Zeroizing<String> {
    // At worst a value's every character is escaped with four bytes ('\'' for bash).
    let room: usize = variables.iter().map(|(name, value)| 16 + name.len() + 4 * value.len()).sum();
    let mut out = Zeroizing::new(String::with_capacity(room));
    for (name, value) in variables {
        let (start, end) = match shell {
            Shell::Bash | Shell::Zsh => ("export ", "='"),
            Shell::Fish => ("set -gx ", " '"),
            Shell::Powershell => ("$Env:", " = '"),
        };
        out.push_str(start);
        out.push_str(name);
        out.push_str(end);
        for c in value.chars() {
            match (shell, c) {
                (Shell::Bash | Shell::Zsh, '\'') => out.push_str(r"'\''"),
                (Shell::Fish, '\\' | '\'') => {
                    out.push('\\');
                    out.push(c);
                }
                // PowerShell takes ' and the typographic single quotes ‘ ’ ‚ ‛ alike as its
                // delimiters, and each is escaped by doubling it.
                (Shell::Powershell, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') => {
                    out.push(c);
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out.push_str("'\n");
    }
    out
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
        let vars = [("X", Zeroizing::new("a'b\u{2018}c\u{2019}d\u{201A}e\u{201B}f".to_owned()))];
        assert_eq!(
            *export_lines(Shell::Powershell, &vars),
            "$Env:X = 'a''b\u{2018}\u{2018}c\u{2019}\u{2019}d\u{201A}\u{201A}e\u{201B}\u{201B}f'\n"
        );
    }

    #[test]
    fn quoting_keeps_values_literal() {
        let vars = [("X", Zeroizing::new(r"a'b\c $HOME `x` !".to_owned()))];
        assert_eq!(*export_lines(Shell::Bash, &vars), "export X='a'\\''b\\c $HOME `x` !'\n");
        assert_eq!(*export_lines(Shell::Fish, &vars), "set -gx X 'a\\'b\\\\c $HOME `x` !'\n");
        assert_eq!(*export_lines(Shell::Powershell, &vars), "$Env:X = 'a''b\\c $HOME `x` !'\n");
    }
}
