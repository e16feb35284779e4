#pragma once

#include "remote/s3_credentials.hpp"
#include "remote/spec.hpp"

#include <expected>
#include <string>
#include <string_view>
#include <vector>

// Where an S3 tier's objects are and how their URLs are made; what a
// ListObjectsV2 page says. Apart from the tier so that they can be tested
// alone.
namespace ipfsacc::remote::s3 {

struct Location {
  std::string bucket;
  std::string prefix; // "" or "dir/sub/": every object's name starts so
  std::string region; // what requests are signed for
  // The bucket's URL, without a trailing '/': virtual-hosted on AWS
  // ("https://BUCKET.s3.REGION.amazonaws.com"), path-style on any other
  // endpoint ("http://127.0.0.1:4568/BUCKET") and for a bucket with dots.
  std::string base_url;
};

// The location of `s3://BUCKET[/PREFIX]` with its `region=` and
// `endpoint=URL` attributes, falling back to AWS_REGION,
// AWS_DEFAULT_REGION ("us-east-1" without any) and AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL. A message when the bucket name or endpoint is not one.
std::expected<Location, std::string> locate(const Spec& spec,
                                            const Getenv& getenv);

// RFC 3986 percent-encoding as SigV4 wants it: everything but letters,
// digits and "-._~" (and '/' when keep_slash).
std::string uri_encode(std::string_view text, bool keep_slash);

// The URL of the object named key (prefix included).
std::string object_url(const Location& location, std::string_view key);

// The URL of one ListObjectsV2 page of the names under prefix, after
// token when not empty; the query is in the sorted form SigV4 signs.
std::string list_url(const Location& location,
                     std::string_view prefix,
                     std::string_view token,
                     int max_keys = 1000);

// One ListObjectsV2 page: the object names and the token of the next page
// ("" when it is the last).
struct ListPage {
  std::vector<std::string> keys;
  std::string next_token;
};

// Reads the <Key> and <NextContinuationToken> elements of a
// ListBucketResult, and nothing else; an error when the text is not one.
std::expected<ListPage, std::string> parse_list(std::string_view xml);

// The <Code> of an S3 error document ("NoSuchBucket"); "" when none.
std::string error_code(std::string_view xml);

} // namespace ipfsacc::remote::s3
