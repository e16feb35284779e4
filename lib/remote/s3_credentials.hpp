#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

// Where an S3 tier's credentials come from, in the order of the AWS tools.
namespace ipfsacc::remote::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key; // never shown
  std::string session_token;     // "" unless temporary credentials
  std::string source;            // where they came from
};

// An environment variable's value ("" when unset); getenv in ipfsacc, a
// table in tests.
using Getenv = std::function<std::string(const char* name)>;

// The credentials of profile in a shared credentials file's text (INI:
// `[profile]` sections of `aws_access_key_id`, `aws_secret_access_key`,
// `aws_session_token`); nullopt when the profile is missing or lacks the
// key pair. Lines are read as the AWS tools read them: `#` and `;` start
// comments, keys and values are trimmed, later keys win.
std::optional<Credentials> read_credentials_file(std::string_view text,
                                                 std::string_view profile);

// The credentials to sign with, first found of:
//   1. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN);
//   2. stored: the secrets store's `s3_credentials`, "KEY_ID:SECRET";
//   3. the profile AWS_PROFILE names ("default" without it) in
//      AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials.
// nullopt when there are none: requests then go unsigned (read-only).
std::optional<Credentials> find_credentials(const Getenv& getenv,
                                            std::string_view stored);

} // namespace ipfsacc::remote::s3
