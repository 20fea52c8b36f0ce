// Topic filter matching and coverage: pure functions shared by the broker
// (retained messages), the authorizer (ACL patterns) and anyone else who
// needs to compare MQTT topics and filters.
//
// topic_matches("a/+/c", "a/b/c") == true; "a/#" matches "a"; a filter whose
// first level is '+' or '#' never matches a topic starting with '$'
// (MQTT-4.7.2-1). filter_covers(pattern, filter) is true when every topic the
// filter can match is also matched by the pattern ("city/#" covers
// "city/+/temp", not the other way round).
#pragma once

#include <string_view>

namespace urbis::mqtt {

// REQUIRES: `filter` is a valid filter and `topic` a valid topic name.
bool topic_matches(std::string_view filter, std::string_view topic);

// REQUIRES: both are valid filters.
bool filter_covers(std::string_view pattern, std::string_view filter);

}  // namespace urbis::mqtt
