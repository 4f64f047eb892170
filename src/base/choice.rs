//! Enums whose values users type: each variant's name and one line of help, declared
//! once, from which come `ALL`, `name()`, `about()`, `Display` and `FromStr` (which
//! `cli.rs` offers as the possible values).

/// Declares such an enum: `Variant => "name", "help";` per variant.
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal, $about:literal;)+
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn about(self) -> &'static str {
                match self {
                    $($name::$variant => $about,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                $name::ALL.iter().copied().find(|value| value.name().eq_ignore_ascii_case(text.trim())).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|value| value.name()).collect();
                    format!("use one of: {}", names.join(", "))
                })
            }
        }
    };
}

pub(crate) use choice_enum;
