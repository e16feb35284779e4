#include "remote/s3_credentials.hpp"
#include "remote/s3_location.hpp"
#include "remote/spec.hpp"
#include "remote/tier.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>

using namespace ipfsacc;
using namespace ipfsacc::remote;
using ipfsacc::test::contains;

namespace {

// An environment made of a table.
s3::Getenv table(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

s3::Location located(std::string_view url,
                     std::map<std::string, std::string> env = {}) {
  auto spec = parse_remote(url);
  REQUIRE(spec);
  auto where = s3::locate(*spec, table(std::move(env)));
  REQUIRE_MESSAGE(where, (where ? "" : where.error()));
  return *where;
}

} // namespace

TEST_CASE("s3: a bucket on AWS is addressed virtual-hosted in its region") {
  auto where = located("s3://team-cache/ci/linux/");
  CHECK(where.bucket == "team-cache");
  CHECK(where.prefix == "ci/linux/");
  CHECK(where.region == "us-east-1");
  CHECK(where.base_url == "https://team-cache.s3.us-east-1.amazonaws.com");
  CHECK(s3::object_url(where, "ci/linux/entries/bafk") ==
        "https://team-cache.s3.us-east-1.amazonaws.com/ci/linux/entries/bafk");

  CHECK(located("s3://team-cache|region=eu-west-3").base_url ==
        "https://team-cache.s3.eu-west-3.amazonaws.com");
  CHECK(located("s3://team-cache").prefix.empty());
  // A bucket with dots is no host name of its own: path-style.
  CHECK(
    located("s3://team.cache", { { "AWS_REGION", "eu-north-1" } }).base_url ==
    "https://s3.eu-north-1.amazonaws.com/team.cache");
}

TEST_CASE("s3: the region from the attribute, then AWS_REGION, then "
          "AWS_DEFAULT_REGION") {
  std::map<std::string, std::string> env = {
    { "AWS_REGION", "ap-south-1" }, { "AWS_DEFAULT_REGION", "sa-east-1" }
  };
  CHECK(located("s3://b-1|region=auto", env).region == "auto");
  CHECK(located("s3://b-1", env).region == "ap-south-1");
  env.erase("AWS_REGION");
  CHECK(located("s3://b-1", env).region == "sa-east-1");
}

TEST_CASE("s3: a custom endpoint is addressed path-style") {
  auto where = located("s3://cache/ci|endpoint=http://127.0.0.1:4568/");
  CHECK(where.base_url == "http://127.0.0.1:4568/cache");
  CHECK(s3::object_url(where, "ci/blobs/x y+z") ==
        "http://127.0.0.1:4568/cache/ci/blobs/x%20y%2Bz");
  // From the environment: AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, the
  // attribute before both.
  std::map<std::string, std::string> env = {
    { "AWS_ENDPOINT_URL_S3", "https://s3.example" },
    { "AWS_ENDPOINT_URL", "https://all.example" }
  };
  CHECK(located("s3://cache", env).base_url == "https://s3.example/cache");
  CHECK(located("s3://cache|endpoint=https://r2.example", env).base_url ==
        "https://r2.example/cache");
  env.erase("AWS_ENDPOINT_URL_S3");
  CHECK(located("s3://cache", env).base_url == "https://all.example/cache");
}

TEST_CASE("s3: bad buckets, endpoints and regions are refused") {
  auto refused = [](std::string_view url) {
    auto spec = parse_remote(url);
    REQUIRE(spec);
    auto where = s3::locate(*spec, table({}));
    REQUIRE_FALSE(where);
    return where.error();
  };
  CHECK(contains(refused("s3://ab"), "not a bucket name"));
  CHECK(contains(refused("s3://-bucket"), "not a bucket name"));
  CHECK(contains(refused("s3://bucket:9000"), "names a bucket"));
  CHECK(contains(refused("s3://KEY:secret@bucket"), "names a bucket"));
  CHECK_FALSE(contains(refused("s3://KEY:secret@bucket"), "secret"));
  CHECK(contains(refused("s3://bucket|endpoint=ftp://x"), "not an http"));
  CHECK(contains(refused("s3://bucket|endpoint=http://"), "not an http"));
  CHECK(contains(refused("s3://bucket|region=us east"), "not a region"));
  // Unknown attributes are the spec's to refuse.
  auto spec = parse_remote("s3://bucket|regoin=x");
  REQUIRE_FALSE(spec);
  CHECK(contains(spec.error(), "region="));
}

TEST_CASE("s3: the listing URL's query is sorted and encoded for SigV4") {
  auto where = located("s3://cache|endpoint=http://h:1");
  CHECK(s3::list_url(where, "ci/entries/", "", 1000) ==
        "http://h:1/cache/?list-type=2&max-keys=1000&prefix=ci%2Fentries%2F");
  CHECK(s3::list_url(where, "p/", "1/a+b=", 5) ==
        "http://h:1/cache/?continuation-token=1%2Fa%2Bb%3D&list-type=2&"
        "max-keys=5&prefix=p%2F");
  CHECK(s3::uri_encode("a/b c~", true) == "a/b%20c~");
  CHECK(s3::uri_encode("a/b", false) == "a%2Fb");
}

TEST_CASE("s3: a ListObjectsV2 page gives its keys and next token") {
  auto page = s3::parse_list(
    R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>cache</Name><Prefix>ci/</Prefix><KeyCount>2</KeyCount>
<IsTruncated>true</IsTruncated>
<Contents><Key>ci/entries/a</Key><Size>3</Size></Contents>
<Contents><Key>ci/blobs/b&amp;c</Key><Size>4</Size></Contents>
<NextContinuationToken>1/x&#43;y=</NextContinuationToken>
</ListBucketResult>)");
  REQUIRE(page);
  CHECK(page->keys ==
        std::vector<std::string>{ "ci/entries/a", "ci/blobs/b&c" });
  CHECK(page->next_token == "1/x+y=");

  auto last = s3::parse_list("<ListBucketResult><IsTruncated>false"
                             "</IsTruncated></ListBucketResult>");
  REQUIRE(last);
  CHECK(last->keys.empty());
  CHECK(last->next_token.empty());

  CHECK_FALSE(s3::parse_list("<Error><Code>AccessDenied</Code></Error>"));
  CHECK_FALSE(s3::parse_list("<ListBucketResult><IsTruncated>true"
                             "</IsTruncated></ListBucketResult>"));
  CHECK(s3::error_code("<Error><Code>NoSuchBucket</Code></Error>") ==
        "NoSuchBucket");
  CHECK(s3::error_code("").empty());
}

TEST_CASE("s3: the shared credentials file's profiles") {
  constexpr std::string_view text = R"(# keys
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key=default-secret

[ci]
; temporary ones
aws_access_key_id   =   AKIACI
aws_secret_access_key = ci/secret+x
aws_session_token = token==
region = eu-west-1

[half]
aws_access_key_id = AKIAHALF
)";
  auto d = s3::read_credentials_file(text, "default");
  REQUIRE(d);
  CHECK(d->access_key_id == "AKIADEFAULT");
  CHECK(d->secret_access_key == "default-secret");
  CHECK(d->session_token.empty());
  auto ci = s3::read_credentials_file(text, "ci");
  REQUIRE(ci);
  CHECK(ci->access_key_id == "AKIACI");
  CHECK(ci->secret_access_key == "ci/secret+x");
  CHECK(ci->session_token == "token==");
  CHECK_FALSE(s3::read_credentials_file(text, "half"));
  CHECK_FALSE(s3::read_credentials_file(text, "missing"));
  CHECK_FALSE(s3::read_credentials_file("", "default"));
  // CRLF line ends.
  auto crlf = s3::read_credentials_file(
    "[default]\r\naws_access_key_id=A\r\naws_secret_access_key=B\r\n",
    "default");
  REQUIRE(crlf);
  CHECK(crlf->secret_access_key == "B");
}

TEST_CASE("s3: the credentials chain: environment, secrets store, profile") {
  auto dir = test::TempDir();
  auto file = dir.path() / "credentials";
  std::ofstream(file) << "[default]\naws_access_key_id=FILE\n"
                         "aws_secret_access_key=file-secret\n"
                         "[ci]\naws_access_key_id=CI\n"
                         "aws_secret_access_key=ci-secret\n";
  std::map<std::string, std::string> env = {
    { "AWS_ACCESS_KEY_ID", "ENV" },
    { "AWS_SECRET_ACCESS_KEY", "env-secret" },
    { "AWS_SESSION_TOKEN", "env-token" },
    { "AWS_SHARED_CREDENTIALS_FILE", file.string() },
  };
  auto found = s3::find_credentials(table(env), "STORED:stored-secret");
  REQUIRE(found);
  CHECK(found->access_key_id == "ENV");
  CHECK(found->session_token == "env-token");
  // A key id without its secret is no credentials.
  env.erase("AWS_SECRET_ACCESS_KEY");
  found = s3::find_credentials(table(env), "STORED:stored-secret");
  REQUIRE(found);
  CHECK(found->access_key_id == "STORED");
  CHECK(found->secret_access_key == "stored-secret");
  CHECK(found->session_token.empty());
  found = s3::find_credentials(table(env), "no-colon");
  REQUIRE(found);
  CHECK(found->access_key_id == "FILE");
  env["AWS_PROFILE"] = "ci";
  found = s3::find_credentials(table(env), "");
  REQUIRE(found);
  CHECK(found->access_key_id == "CI");
  CHECK(contains(found->source, "profile ci"));
  env["AWS_PROFILE"] = "none";
  CHECK_FALSE(s3::find_credentials(table(env), ""));
  // $HOME/.aws/credentials without AWS_SHARED_CREDENTIALS_FILE.
  std::filesystem::create_directories(dir.path() / ".aws");
  std::filesystem::copy_file(file, dir.path() / ".aws" / "credentials");
  found = s3::find_credentials(table({ { "HOME", dir.path().string() } }), "");
  REQUIRE(found);
  CHECK(found->access_key_id == "FILE");
  CHECK_FALSE(s3::find_credentials(table({}), ""));
}

TEST_CASE("s3: the engine is built in, its tier reads without credentials "
          "and then never writes") {
  CHECK(contains(known_schemes(), "s3://"));
  CHECK(password_secret("s3") == "s3_credentials");
  auto spec = parse_remote("s3://cache|endpoint=http://127.0.0.1:9");
  REQUIRE(spec);
  auto tier = make_tier(*spec);
  REQUIRE(tier);
  // Whether it writes depends on the environment's credentials; with the
  // pair given as the secrets store gives it, it does.
  spec->password = "ID:SECRET";
  auto keyed = make_tier(*spec);
  REQUIRE(keyed);
  CHECK((*keyed)->takes_writes());
  auto bad = parse_remote("s3://x");
  REQUIRE(bad);
  CHECK_FALSE(make_tier(*bad));
}
