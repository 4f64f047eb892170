//! The environment variables the Salesforce CLI and older sfdx-based tools read a
//! token from, and their export lines for each shell (`sfcred env`, `sfcred exec`).

use crate::token::Token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl Shell {
    pub const ALL: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell];

    /// The shell a `$SHELL` path names, else bash.
    pub fn from_path(shell: Option<&str>) -> Shell {
        match shell.unwrap_or_default().rsplit('/').next().unwrap_or_default() {
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            "pwsh" | "powershell" => Shell::Powershell,
            _ => Shell::Bash,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
        }
    }
}

impl std::fmt::Display for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Shell {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Shell::ALL
            .into_iter()
            .find(|shell| shell.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| "use bash, zsh, fish or powershell".into())
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
            Shell::Powershell => format!("$Env:{name} = '{}'\n", value.replace('\'', "''")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_values_literal() {
        let vars = [("X", r"a'b\c $HOME `x` !".to_owned())];
        assert_eq!(export_lines(Shell::Bash, &vars), "export X='a'\\''b\\c $HOME `x` !'\n");
        assert_eq!(export_lines(Shell::Fish, &vars), "set -gx X 'a\\'b\\\\c $HOME `x` !'\n");
        assert_eq!(export_lines(Shell::Powershell, &vars), "$Env:X = 'a''b\\c $HOME `x` !'\n");
    }
}
