class Sfcred < Formula
  desc "Salesforce JWT bearer credential helper: keys in the OS keychain, tokens on demand"
  homepage "https://github.com/sfcred/sfcred"
  url "https://github.com/sfcred/sfcred/archive/refs/tags/v0.1.0.tar.gz"
  # Placeholder: the release fills this in with the SHA-256 of the tag's source tarball
  # (`curl -sL <url> | shasum -a 256`).
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/sfcred/sfcred.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args

    # sfcred completes through clap_complete's dynamic engine: `COMPLETE=<shell> sfcred`.
    generate_completions_from_executable(bin/"sfcred", shell_parameter_format: :clap)
    man1.install Dir["man/*.1"]
  end

  test do
    ENV["HOME"] = testpath
    assert_match version.to_s, shell_output("#{bin}/sfcred --version")
    assert_match "no profiles yet", shell_output("#{bin}/sfcred profiles 2>&1")
    assert_equal "[]", shell_output("#{bin}/sfcred profiles --json").strip
  end
end
