// NGSI-LD query languages: q (4.9), type selection (4.17), geo-queries (4.10).
#include "ngsild/query/query.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "model/entity_json.hpp"

namespace urbis::ngsild {
namespace {

using model::Entity;

int64_t ms(std::string_view iso) { return model::parse_datetime_ms(iso).value(); }

// One entity with every kind of attribute the q language addresses.
Entity sensor() {
  Result<Entity> e = model::entity_from_text(R"({
    "id": "urn:ngsi-ld:Sensor:1", "type": ["Sensor", "Device"],
    "temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL", "observedAt": "2024-05-01T10:00:00Z",
                    "accuracy": {"type": "Property", "value": 0.2}},
    "name": {"type": "Property", "value": "Bridge sensor 7"},
    "status": {"type": "Property", "value": "ok"},
    "code": {"type": "Property", "value": "30"},
    "count": {"type": "Property", "value": 42},
    "active": {"type": "Property", "value": true},
    "tags": {"type": "Property", "value": ["blue", "red", "green"]},
    "levels": {"type": "Property", "value": [1, 5, 9]},
    "installedAt": {"type": "Property", "value": "2023-01-15T08:30:00Z"},
    "day": {"type": "Property", "value": "2024-05-01"},
    "address": {"type": "Property", "value": {"city": "Berlin", "street": "Ulrich Strasse",
                                              "geo": {"zip": "10115", "floor": 3}, "lines": ["a", "b"]}},
    "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:7"},
    "parts": {"type": "Relationship", "object": ["urn:ngsi-ld:Part:1", "urn:ngsi-ld:Part:2"]},
    "label": {"type": "LanguageProperty", "languageMap": {"en": "red", "fr": "rouge", "de": ["rot", "Farbe"]}},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [13.4, 52.5]}},
    "speed": [{"type": "Property", "value": 30, "datasetId": "urn:ngsi-ld:Dataset:radar"},
              {"type": "Property", "value": 50}],
    "https://example.org/ns/humidity": {"type": "Property", "value": 60,
        "https://example.org/ns/quality": {"type": "Property", "value": "good"}},
    "https://smartdatamodels.org/dataModel.Environment/no2": {"type": "Property", "value": 12},
    "ex:noise": {"type": "Property", "value": 55},
    "umlautÄ": {"type": "Property", "value": "ü"}
  })");
  EXPECT_TRUE(e.ok()) << e.status().message();
  Entity out = std::move(e.value());
  model::stamp_new(out, ms("2024-05-02T00:00:00Z"));
  return out;
}

struct MatchCase {
  std::string q;
  bool match;
};

class QMatch : public ::testing::TestWithParam<MatchCase> {};

TEST_P(QMatch, AgainstTheSensor) {
  static const Entity e = sensor();
  const MatchCase& c = GetParam();
  Result<QExpression> q = QExpression::parse(c.q);
  ASSERT_TRUE(q.ok()) << c.q << ": " << q.status().message();
  EXPECT_EQ(q->matches(e), c.match) << c.q;
  // The canonical text means the same thing.
  Result<QExpression> again = QExpression::parse(q->to_string());
  ASSERT_TRUE(again.ok()) << q->to_string() << ": " << again.status().message();
  EXPECT_EQ(again->to_string(), q->to_string());
  EXPECT_EQ(again->matches(e), c.match) << q->to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Table, QMatch,
    ::testing::Values(
        // existence, and the "!" extension
        MatchCase{"temperature", true}, MatchCase{"pressure", false}, MatchCase{"!pressure", true},
        MatchCase{"!temperature", false}, MatchCase{"temperature.accuracy", true},
        MatchCase{"temperature.precision", false}, MatchCase{"owner", true}, MatchCase{"label", true},
        MatchCase{"address[city]", true}, MatchCase{"address[country]", false},
        MatchCase{"!address[country]", true},
        // numbers
        MatchCase{"temperature==21.5", true}, MatchCase{"temperature==21.50", true},
        MatchCase{"temperature!=21.5", false}, MatchCase{"temperature>20", true}, MatchCase{"temperature>21.5", false},
        MatchCase{"temperature>=21.5", true}, MatchCase{"temperature<22", true}, MatchCase{"temperature<=21", false},
        MatchCase{"count==42", true}, MatchCase{"count==4.2e1", true}, MatchCase{"count>-1", true},
        MatchCase{"temperature.accuracy<0.5", true}, MatchCase{"temperature.accuracy>0.5", false},
        // strings: double or single quotes, JSON escapes, byte order
        MatchCase{R"(status=="ok")", true}, MatchCase{"status=='ok'", true}, MatchCase{R"(status!="ok")", false},
        MatchCase{R"(status!="broken")", true}, MatchCase{R"(name=="Bridge sensor 7")", true},
        MatchCase{R"(name=="Bridge\u0020sensor 7")", true}, MatchCase{R"(status>"a")", true},
        MatchCase{R"(status<"a")", false}, MatchCase{R"(umlautÄ=="ü")", true},
        MatchCase{R"(umlautÄ=="\u00fc")", true},
        // different types never equal and never order (4.9), but are unequal
        MatchCase{"code==30", false}, MatchCase{R"(code=="30")", true}, MatchCase{"code!=30", true},
        MatchCase{"code>20", false}, MatchCase{R"(count=="42")", false}, MatchCase{"active==1", false},
        // booleans
        MatchCase{"active==true", true}, MatchCase{"active==false", false}, MatchCase{"active!=false", true},
        // ranges (both ends included) and lists
        MatchCase{"temperature==20..22", true}, MatchCase{"temperature==21.5..30", true},
        MatchCase{"temperature==22..30", false}, MatchCase{"temperature!=22..30", true},
        MatchCase{"temperature!=20..22", false}, MatchCase{"count==1,2,42", true}, MatchCase{"count==1,2,3", false},
        MatchCase{"count!=1,2,3", true}, MatchCase{"count!=1,42", false},
        MatchCase{R"(status=="a","ok")", true}, MatchCase{R"(status=="a".."z")", true},
        // arrays: == is "includes", != is "does not include", order and range on any element
        MatchCase{R"(tags=="red")", true}, MatchCase{R"(tags=="black")", false}, MatchCase{R"(tags!="red")", false},
        MatchCase{R"(tags!="black")", true}, MatchCase{R"(tags=="black","red")", true},
        MatchCase{R"(tags=="black","white")", false}, MatchCase{R"(tags!="black","white")", true},
        MatchCase{R"(tags!="black","green")", false}, MatchCase{"levels>8", true}, MatchCase{"levels>9", false},
        MatchCase{"levels==6..8", false}, MatchCase{"levels==4..6", true}, MatchCase{"levels!=4..6", false},
        MatchCase{R"(tags~="^gr")", true}, MatchCase{R"(tags!~="^gr")", false}, MatchCase{R"(tags!~="^x")", true},
        // date-times compare as instants, quoted or not; dates as text
        MatchCase{"installedAt>2023-01-01T00:00:00Z", true}, MatchCase{"installedAt<2023-01-01T00:00:00Z", false},
        MatchCase{R"(installedAt>"2023-01-15T09:00:00+02:00")", true},
        MatchCase{"installedAt==2023-01-15T08:30:00.000Z", true},
        MatchCase{"installedAt==2023-01-15T09:30:00+01:00", true},
        MatchCase{"installedAt==2023-01-01T00:00:00Z..2023-12-31T23:59:59Z", true},
        MatchCase{"day==2024-05-01", true}, MatchCase{"day>2024-04-30", true}, MatchCase{"day<2024-04-30", false},
        // observedAt, createdAt, modifiedAt, unitCode, datasetId of an instance; createdAt of the entity
        MatchCase{"temperature.observedAt>=2024-05-01T10:00:00Z", true},
        MatchCase{"temperature.observedAt>2024-05-01T10:00:00Z", false},
        MatchCase{"temperature.observedAt==2024-05-01T12:00:00+02:00", true},
        MatchCase{"temperature.observedAt>20", false}, MatchCase{"status.observedAt", false},
        MatchCase{"temperature.observedAt", true},
        MatchCase{"temperature.https://uri.etsi.org/ngsi-ld/observedAt<2025-01-01T00:00:00Z", true},
        MatchCase{"temperature.createdAt==2024-05-02T00:00:00Z", true},
        MatchCase{"temperature.modifiedAt<2024-05-01T00:00:00Z", false},
        MatchCase{R"(temperature.unitCode=="CEL")", true}, MatchCase{R"(temperature.unitCode=="FAH")", false},
        MatchCase{R"(speed.datasetId=="urn:ngsi-ld:Dataset:radar")", true},
        MatchCase{"createdAt==2024-05-02T00:00:00Z", true}, MatchCase{"modifiedAt>2025-01-01T00:00:00Z", false},
        // Relationships compare the object, only with == and !=
        MatchCase{"owner==urn:ngsi-ld:Person:7", true}, MatchCase{R"(owner=="urn:ngsi-ld:Person:7")", true},
        MatchCase{"owner!=urn:ngsi-ld:Person:7", false}, MatchCase{"owner!=urn:ngsi-ld:Person:8", true},
        MatchCase{"owner==urn:ngsi-ld:Person:8,urn:ngsi-ld:Person:7", true},
        MatchCase{R"(owner>"urn:a")", false}, MatchCase{R"(owner~="Person")", false},
        MatchCase{R"(owner!~="Person")", false}, MatchCase{"parts==urn:ngsi-ld:Part:2", true},
        MatchCase{"parts!=urn:ngsi-ld:Part:2", false}, MatchCase{"parts!=urn:ngsi-ld:Part:3", true},
        MatchCase{"owner[x]", false},
        // LanguageProperty: any language, [tag], [*]; arrays of strings per language
        MatchCase{R"(label=="rouge")", true}, MatchCase{R"(label=="rot")", true}, MatchCase{R"(label=="blau")", false},
        MatchCase{R"(label[en]=="red")", true}, MatchCase{R"(label[fr]=="red")", false},
        MatchCase{R"(label[de]=="Farbe")", true}, MatchCase{R"(label[*]=="rouge")", true},
        MatchCase{R"(label[en]!="red")", false}, MatchCase{R"(label[en]!="black")", true},
        MatchCase{R"(label!="red")", false}, MatchCase{R"(label!="noir")", true}, MatchCase{"label[it]", false},
        MatchCase{R"(label[it]!="x")", false}, MatchCase{R"(label~="^ro")", true},
        // [ ] paths into a value: dots, several brackets, array indexes
        MatchCase{R"(address[city]=="Berlin")", true}, MatchCase{R"(address[city]=="Paris")", false},
        MatchCase{R"(address[geo.zip]=="10115")", true}, MatchCase{R"(address[geo][zip]=="10115")", true},
        MatchCase{"address[geo.floor]>2", true}, MatchCase{R"(address[lines.1]=="b")", true},
        MatchCase{R"(address[lines.2]=="b")", false}, MatchCase{R"(address[city.x]=="b")", false},
        MatchCase{R"(address[city]!="Paris")", true}, MatchCase{R"(address[country]!="Paris")", false},
        MatchCase{R"(location[type]=="Point")", true},
        // objects compare equal to nothing
        MatchCase{R"(address=="Berlin")", false}, MatchCase{R"(address!="Berlin")", true},
        // patterns (ECMAScript), quoted or not, (?i)
        MatchCase{"name~=^Bridge", true}, MatchCase{"name~=sensor [0-9]$", true}, MatchCase{"name~=^sensor", false},
        MatchCase{R"(name~="bridge")", false}, MatchCase{R"(name~="(?i)bridge")", true},
        MatchCase{"name!~=^sensor", true}, MatchCase{"name!~=Bridge", false}, MatchCase{"name~=(Bridge|Tunnel)", true},
        MatchCase{R"(name~="Tunnel|Bridge")", true}, MatchCase{R"(count~="4")", false},
        MatchCase{R"(count!~="4")", false},
        // multi-attribute: any instance
        MatchCase{"speed==30", true}, MatchCase{"speed==50", true}, MatchCase{"speed==40", false},
        MatchCase{"speed>45", true}, MatchCase{"speed!=30", true}, MatchCase{"speed<10", false},
        // a missing attribute never satisfies a comparison, not even !=
        MatchCase{"pressure!=3", false}, MatchCase{R"(pressure!~="x")", false},
        MatchCase{"temperature.precision!=1", false},
        // logic: AND binds tighter than OR; parentheses; whitespace
        MatchCase{"temperature>20;count==42", true}, MatchCase{"temperature>30;count==42", false},
        MatchCase{"temperature>30|count==42", true}, MatchCase{"temperature>30|count==41", false},
        MatchCase{"count==42|temperature>30;pressure", true}, MatchCase{"(count==42|temperature>30);pressure", false},
        MatchCase{"pressure;count==1|status=='ok'", true}, MatchCase{"pressure;(count==1|status=='ok')", false},
        MatchCase{"((temperature>20;temperature<25)|count<=10);active==true", true},
        MatchCase{"((speed>50|count>3000);status==\"ok\")", false},
        MatchCase{" temperature > 20 ; status == 'ok' ", true}, MatchCase{"(((temperature)))", true},
        // names: prefix:name, URIs with dots, non-ASCII
        MatchCase{"ex:noise==55", true}, MatchCase{"https://example.org/ns/humidity>50", true},
        MatchCase{R"(https://example.org/ns/humidity.https://example.org/ns/quality=="good")", true},
        MatchCase{"https://smartdatamodels.org/dataModel.Environment/no2==12", true},
        MatchCase{"umlautÄ", true}));

struct ErrorCase {
  std::string q;
  std::string fragment;
};

class QError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(QError, IsRefusedWithAMessage) {
  const ErrorCase& c = GetParam();
  Result<QExpression> q = QExpression::parse(c.q);
  ASSERT_FALSE(q.ok()) << c.q << " parsed as " << q->to_string();
  EXPECT_EQ(q.status().code(), Code::kInvalidArgument);
  EXPECT_NE(q.status().message().find(c.fragment), std::string::npos)
      << c.q << ": got '" << q.status().message() << "', expected '" << c.fragment << "'";
  EXPECT_EQ(q.status().message().rfind("q: ", 0), 0u) << q.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, QError,
    ::testing::Values(
        ErrorCase{"", "q: empty expression"}, ErrorCase{"   ", "empty expression"},
        ErrorCase{"temperature>=", "q: at 14: expected a value after '>='"},
        ErrorCase{"a==1;b==2)", "q: unbalanced ')' at 10"}, ErrorCase{"(a==1;b==2", "q: unbalanced '(' at 1"},
        ErrorCase{"((a)", "unbalanced '(' at 1"}, ErrorCase{"a==1;", "q: at 6: expected an attribute name"},
        ErrorCase{";a", "at 1: expected an attribute name"}, ErrorCase{"a||b", "at 3: expected an attribute name"},
        ErrorCase{"()", "at 2: expected an attribute name"}, ErrorCase{"a=1", "'=' is not an operator"},
        ErrorCase{"a b", "at 3: unexpected 'b'"}, ErrorCase{"a==1 b==2", "at 6: unexpected 'b'"},
        ErrorCase{"a=>1", "'=' is not an operator"}, ErrorCase{"a===1", "at 4: expected a value"},
        ErrorCase{"1a==2", "expected an attribute name, found '1'"},
        ErrorCase{"a==\"open", "at 4: unterminated string"}, ErrorCase{"a=='open", "unterminated string"},
        ErrorCase{"a==active", "'active' is not a value (quote strings"}, ErrorCase{"a==1x", "'1x' is not a value"},
        ErrorCase{"a==01", "'01' is not a value"}, ErrorCase{"a==+1", "'+1' is not a value"},
        ErrorCase{"a==1e999", "number '1e999' is out of range"}, ErrorCase{"a>true", "true/false can only be"},
        ErrorCase{"a>1..5", "a range (min..max) is only allowed with == or !="},
        ErrorCase{"a>1,5", "a list of values is only allowed with == or !="},
        ErrorCase{"a==1..\"z\"", "a range needs two numbers or two strings"},
        ErrorCase{"a==true..false", "a range needs two numbers"}, ErrorCase{"a==1..", "expected a value after '..'"},
        ErrorCase{"a==1,", "expected a value after ','"}, ErrorCase{"a==,1", "expected a value after '=='"},
        ErrorCase{"a~=", "expected a regular expression after '~='"},
        ErrorCase{"a~=\"\"", "expected a regular expression after '~='"},
        ErrorCase{"a~=\"(\"", "invalid regular expression"}, ErrorCase{"a~=[", "invalid regular expression"},
        ErrorCase{"a~=\"" + std::string(300, 'x') + "\"", "regular expression longer than 256 bytes"},
        ErrorCase{R"(a~="(x)\\1")", "invalid regular expression"},
        ErrorCase{"a~=(x{100}){100}", "repeats too much"}, ErrorCase{"a~=x{1001}", "repeats too much"},
        ErrorCase{"!a==1", "'!' before an attribute only tests that it is absent"},
        ErrorCase{"a[", "unterminated '['"}, ErrorCase{"a[]", "expected a member name inside [ ]"},
        ErrorCase{"a[b", "unterminated '['"}, ErrorCase{"a.", "at 3: expected an attribute name"},
        ErrorCase{"a..b", "expected an attribute name"}, ErrorCase{"a{b}==1", "linked-entity paths"},
        ErrorCase{"a.observedAt[x]", "[ ] cannot follow observedAt"},
        ErrorCase{"a==\"\\x\"", "invalid escape '\\x'"}, ErrorCase{"a==\"\\u12\"", "four hex digits"},
        ErrorCase{"a==\"\\udc00\"", "lone low surrogate"}, ErrorCase{"a==\"\\ud800x\"", "low surrogate"},
        ErrorCase{"a==\"\x01\"", "control character"},
        ErrorCase{std::string(40, '(') + "a" + std::string(40, ')'), "parentheses nest deeper than 32"},
        ErrorCase{std::string(9000, 'a'), "q: too long (9000 bytes, at most 8192)"}));

TEST(QExpression, CanonicalText) {
  const std::pair<std::string, std::string> cases[] = {
      {"a[b][c]==1", "a[b.c]==1"},
      {"(a;b)|c", "a;b|c"},
      {"a;(b|c)", "a;(b|c)"},
      {"a;(b;c)", "a;b;c"},
      {"((a))", "a"},
      {"x=='s'", R"(x=="s")"},
      {R"(x=="tab\there \"q\"")", R"(x=="tab\there \"q\"")"},
      {"t>=2024-01-01T00:00:00Z", R"(t>="2024-01-01T00:00:00Z")"},
      {"r==urn:x:1,urn:x:2", R"(r=="urn:x:1","urn:x:2")"},
      {"n==1.50..2e3", "n==1.5..2000"},
      {"n~=^a|b", R"(n~="^a"|b)"},
      {"n~=(a|b);c", R"x(n~="(a|b)";c)x"},
      {" a.observedAt > 2024-01-01T00:00:00Z ", R"(a.observedAt>"2024-01-01T00:00:00Z")"},
  };
  for (const auto& [in, want] : cases) {
    Result<QExpression> q = QExpression::parse(in);
    ASSERT_TRUE(q.ok()) << in << ": " << q.status().message();
    EXPECT_EQ(q->to_string(), want) << in;
  }
  // Whitespace separates tokens; it cannot appear inside a path.
  EXPECT_FALSE(QExpression::parse("a . b").ok());
}

TEST(QExpression, EmptyMatchesEverything) {
  const QExpression q;
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.matches(sensor()));
  EXPECT_EQ(q.to_string(), "");
  EXPECT_TRUE(q.attribute_names().empty());
}

TEST(QExpression, RenameExpandsAttributeNamesButNotValueMembersOrSystemMembers) {
  Result<QExpression> q = QExpression::parse(
      R"(temperature.accuracy<1;address[geo.zip]=="10115"|temperature.observedAt>2024-01-01T00:00:00Z;)"
      R"(label[en]=="red";createdAt>2020-01-01T00:00:00Z;!pressure)");
  ASSERT_TRUE(q.ok()) << q.status().message();
  const QExpression before = *q;
  q->rename_attributes([](std::string_view n) { return "https://example.org/ns/" + std::string(n); });
  const std::string text = q->to_string();
  EXPECT_NE(text.find("https://example.org/ns/temperature.https://example.org/ns/accuracy<1"), std::string::npos);
  EXPECT_NE(text.find(R"(https://example.org/ns/address[geo.zip]=="10115")"), std::string::npos);
  EXPECT_NE(text.find(R"(https://example.org/ns/temperature.observedAt>"2024-01-01T00:00:00Z")"), std::string::npos);
  EXPECT_NE(text.find(R"(https://example.org/ns/label[en]=="red")"), std::string::npos);
  EXPECT_NE(text.find(R"(;createdAt>"2020-01-01T00:00:00Z")"), std::string::npos);
  EXPECT_NE(text.find("!https://example.org/ns/pressure"), std::string::npos);
  EXPECT_EQ(q->attribute_names(),
            (std::vector<std::string>{"https://example.org/ns/address", "https://example.org/ns/label",
                                      "https://example.org/ns/pressure", "https://example.org/ns/temperature"}));
  // The copy taken before renaming is unchanged (copies share an immutable tree).
  EXPECT_EQ(before.attribute_names(), (std::vector<std::string>{"address", "label", "pressure", "temperature"}));
  // The expanded text parses back to the same expression.
  Result<QExpression> again = QExpression::parse(text);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->to_string(), text);
}

TEST(QExpression, RenamedExpressionMatchesExpandedEntity) {
  Entity e = sensor();
  Entity expanded = e;
  expanded.attributes.clear();
  for (auto& [name, instances] : e.attributes) {
    auto copy = instances;
    for (auto& inst : copy) {
      std::map<std::string, model::AttributeInstance> subs;
      for (auto& [sub, v] : inst.sub_attributes) subs.emplace("https://ex.org/" + sub, v);
      inst.sub_attributes = std::move(subs);
    }
    expanded.attributes.emplace("https://ex.org/" + name, std::move(copy));
  }
  Result<QExpression> q = QExpression::parse(R"(temperature.accuracy<1;address[city]=="Berlin";owner)");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->matches(expanded));
  q->rename_attributes([](std::string_view n) { return "https://ex.org/" + std::string(n); });
  EXPECT_TRUE(q->matches(expanded));
  EXPECT_FALSE(q->matches(e));
}

TEST(QExpression, PatternsThatBacktrackExponentiallyStillAnswer) {
  // A backtracking matcher would take about 2^4000 steps on this.
  Entity e = sensor();
  e.attributes["name"].front().value = boost::json::string(std::string(4000, 'a'));
  Result<QExpression> q = QExpression::parse("name~=(a*)*b|name~=^(a|aa)+$;name!~=(a|a)*c");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_TRUE(q->matches(e));
  EXPECT_FALSE(QExpression::parse("name~=(a*)*b")->matches(e));
}

TEST(QExpression, PatternAgainstAVeryLongStringIsNeitherMatchNorNonMatch) {
  Entity e = sensor();
  e.attributes["name"].front().value = boost::json::string(std::string(100000, 'a'));
  for (const char* text : {"name~=a+", "name!~=b", R"(name~="(a|b)*c")"}) {
    Result<QExpression> q = QExpression::parse(text);
    ASSERT_TRUE(q.ok());
    EXPECT_FALSE(q->matches(e)) << text;
  }
  Result<QExpression> eq = QExpression::parse(R"(name=="x";name>"a")");
  ASSERT_TRUE(eq.ok());
  EXPECT_FALSE(eq->matches(e));
}

// --- type selection ----------------------------------------------------------

TEST(TypeExpression, Matching) {
  const Entity e = sensor();  // types Sensor, Device
  const std::pair<std::string, bool> cases[] = {
      {"Sensor", true},
      {"Building", false},
      {"Building,Sensor", true},
      {"Building,Vehicle", false},
      {"Building|Device", true},
      {"Sensor;Device", true},
      {"Sensor;Building", false},
      {"(Building;Vehicle)|Sensor", true},
      {"(Building;Sensor)|Vehicle", false},
      {"Building;Sensor|Device", true},
      {"Building;(Sensor|Device)", false},
      {"(Sensor|Building);(Device|Vehicle)", true},
      {" Sensor , Building ", true},
      {"*", true},
      {"ex:Sensor", false},
  };
  for (const auto& [text, want] : cases) {
    Result<TypeExpression> t = TypeExpression::parse(text);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status().message();
    EXPECT_EQ(t->matches(e), want) << text;
    Result<TypeExpression> again = TypeExpression::parse(t->to_string());
    ASSERT_TRUE(again.ok()) << t->to_string();
    EXPECT_EQ(again->to_string(), t->to_string());
    EXPECT_EQ(again->matches(e), want) << t->to_string();
  }
}

TEST(TypeExpression, AnyOfAndCanonicalText) {
  auto parse = [](std::string_view s) { return TypeExpression::parse(s).value(); };
  EXPECT_EQ(parse("B,A,B").any_of(), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(parse("A|B").any_of(), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(parse("(A)").any_of(), (std::vector<std::string>{"A"}));
  EXPECT_EQ(parse("(A,B)|C").any_of(), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(parse("A;B").any_of(), std::nullopt);
  EXPECT_EQ(parse("(A;B)|C").any_of(), std::nullopt);
  EXPECT_EQ(parse("*").any_of(), std::nullopt);
  EXPECT_EQ(TypeExpression().any_of(), std::nullopt);
  EXPECT_EQ(parse("A|B").to_string(), "A,B");
  EXPECT_EQ(parse("(A;B)|C").to_string(), "A;B|C");
  EXPECT_EQ(parse("A;(B,C)").to_string(), "A;(B,C)");
  EXPECT_EQ(parse("https://smartdatamodels.org/dataModel.Parking/ParkingSpot").to_string(),
            "https://smartdatamodels.org/dataModel.Parking/ParkingSpot");
}

TEST(TypeExpression, RenameTypes) {
  TypeExpression t = TypeExpression::parse("(Building;Vehicle)|Sensor").value();
  t.rename_types([](std::string_view n) { return "https://ex.org/" + std::string(n); });
  EXPECT_EQ(t.to_string(), "https://ex.org/Building;https://ex.org/Vehicle|https://ex.org/Sensor");
  Entity e = sensor();
  EXPECT_FALSE(t.matches(e));
  e.types = {"https://ex.org/Sensor"};
  EXPECT_TRUE(t.matches(e));
}

TEST(TypeExpression, Errors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "type: empty"},
      {"A,", "type: at 3: expected an entity type name"},
      {",A", "type: at 1: expected an entity type name"},
      {"A;;B", "type: at 3: expected an entity type name"},
      {"(A;B", "type: unbalanced '(' at 1"},
      {"A;B)", "type: unbalanced ')' at 4"},
      {"A B", "type: at 3: unexpected 'B'"},
      {"A,*", "found '*'"},
      {"1A", "found '1'"},
      {"A\"B", "unexpected '\"'"},
      {std::string(40, '(') + "A" + std::string(40, ')'), "nest deeper than 32"},
  };
  for (const auto& [text, fragment] : cases) {
    Result<TypeExpression> t = TypeExpression::parse(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_NE(t.status().message().find(fragment), std::string::npos)
        << text << ": got '" << t.status().message() << "'";
  }
}

// --- geo-queries -----------------------------------------------------------

TEST(GeoQuery, ParsesEachRelation) {
  Result<model::GeoQuery> g = parse_geo_query("near;maxDistance==1000", "Point", "[13.4,52.5]", "");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->relation, model::GeoRelation::kNear);
  EXPECT_EQ(g->max_distance_m, 1000.0);
  EXPECT_FALSE(g->min_distance_m);
  EXPECT_EQ(g->property, "location");
  EXPECT_EQ(georel_to_string(*g), "near;maxDistance==1000");

  g = parse_geo_query("near;minDistance==10.5;maxDistance==2e3", "Point", "[13.4, 52.5]", "position");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->min_distance_m, 10.5);
  EXPECT_EQ(g->max_distance_m, 2000.0);
  EXPECT_EQ(g->property, "position");
  EXPECT_EQ(georel_to_string(*g), "near;maxDistance==2000;minDistance==10.5");

  const char* square = "[[[13,52],[14,52],[14,53],[13,53],[13,52]]]";
  for (const char* rel : {"within", "contains", "intersects", "equals", "disjoint", "overlaps"}) {
    g = parse_geo_query(rel, "Polygon", square, "");
    ASSERT_TRUE(g.ok()) << rel << ": " << g.status().message();
    EXPECT_EQ(georel_to_string(*g), rel);
  }
  // The subscription form: coordinates as a JSON value.
  g = parse_geo_query("intersects", "LineString", boost::json::parse("[[13,52],[14,53]]"), "");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->geometry.type(), model::geo::GeometryType::kLineString);
}

TEST(GeoQuery, Errors) {
  struct Case {
    std::string georel, geometry, coordinates, fragment;
  };
  const Case cases[] = {
      {"nearby", "Point", "[1,2]", "georel: unknown relation 'nearby'"},
      {"", "Point", "[1,2]", "georel: missing"},
      {"near", "Point", "[1,2]", "georel: near needs maxDistance"},
      {"near;maxDistance==-1", "Point", "[1,2]", "georel: maxDistance must be a non-negative number"},
      {"near;maxDistance==abc", "Point", "[1,2]", "georel: maxDistance must be a non-negative number"},
      {"near;maxDistance==", "Point", "[1,2]", "georel: maxDistance must be"},
      {"near;maxDistance=10", "Point", "[1,2]", "georel: near takes maxDistance"},
      {"near;radius==10", "Point", "[1,2]", "georel: near takes maxDistance"},
      {"near;maxDistance==1;maxDistance==2", "Point", "[1,2]", "georel: maxDistance given twice"},
      {"near;maxDistance==1;minDistance==2", "Point", "[1,2]", "georel: minDistance is greater"},
      {"within;maxDistance==1", "Polygon", "[1,2]", "georel: 'within' takes no modifiers"},
      {"near;maxDistance==10", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", "geometry: near requires a Point"},
      {"within", "Circle", "[1,2]", "geometry: unknown type 'Circle'"},
      {"within", "", "[1,2]", "geometry: missing"},
      {"within", "Point", "", "coordinates: missing"},
      {"within", "Point", "1,2", "coordinates: not a JSON array"},
      {"within", "Point", "{\"a\":1}", "coordinates: not a JSON array"},
      {"within", "Point", "[200,1]", "coordinates: longitude 200 is outside"},
      {"within", "Polygon", "[[[0,0],[1,0],[1,1]]]", "coordinates: [0]: a Polygon ring needs at least 4 positions"},
      {"within", "LineString", "[[0,0]]", "coordinates: a LineString needs at least 2 positions"},
  };
  for (const Case& c : cases) {
    Result<model::GeoQuery> g = parse_geo_query(c.georel, c.geometry, c.coordinates, "");
    ASSERT_FALSE(g.ok()) << c.georel << " " << c.geometry << " " << c.coordinates;
    EXPECT_NE(g.status().message().find(c.fragment), std::string::npos)
        << "got '" << g.status().message() << "', expected '" << c.fragment << "'";
  }
  Result<model::GeoQuery> g = parse_geo_query("within", "Point", "[1,2]", "bad name");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message().rfind("geoproperty: ", 0), 0u);
}

TEST(GeoQuery, MatchesAnEntity) {
  const Entity e = sensor();  // location Point [13.4, 52.5]
  auto m = [&](const char* rel, const char* geometry, const char* coords, const char* prop = "") {
    Result<model::GeoQuery> g = parse_geo_query(rel, geometry, coords, prop);
    EXPECT_TRUE(g.ok()) << g.status().message();
    return g.ok() && geo_matches(*g, e);
  };
  EXPECT_TRUE(m("near;maxDistance==1000", "Point", "[13.401,52.501]"));
  EXPECT_FALSE(m("near;maxDistance==10", "Point", "[13.401,52.501]"));
  EXPECT_TRUE(m("near;minDistance==10", "Point", "[13.401,52.501]"));
  EXPECT_TRUE(m("within", "Polygon", "[[[13,52],[14,52],[14,53],[13,53],[13,52]]]"));
  EXPECT_FALSE(m("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]"));
  EXPECT_TRUE(m("disjoint", "Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]"));
  EXPECT_TRUE(m("equals", "Point", "[13.4,52.5]"));
  EXPECT_FALSE(m("within", "Polygon", "[[[13,52],[14,52],[14,53],[13,53],[13,52]]]", "position"));
}

}  // namespace
}  // namespace urbis::ngsild
