#include "sluice/identifier.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Identifier, NamesOfUpTo63BytesAreHeldExactly) {
  EXPECT_FALSE(identifier_problem("orders"));
  EXPECT_FALSE(identifier_problem(std::string(63, 'a')));
  EXPECT_FALSE(identifier_problem("x\"; DROP TABLE t; --"));  // quoted when written
  EXPECT_FALSE(identifier_problem(std::string(61, 'a') + "\xC3\xA9"));
}

TEST(Identifier, LongerEmptyOrNulNamesAreProblemsNamingTheIdentifier) {
  EXPECT_EQ(identifier_problem(std::string(64, 'a')),
            "\"" + std::string(64, 'a') +
                "\" is 64 bytes long; PostgreSQL keeps at most 63 bytes of an identifier (NAMEDATALEN - 1) and would "
                "truncate it");
  // Bytes, not characters: 32 two-byte characters are 64 bytes.
  std::string wide;
  for (int i = 0; i < 32; ++i) wide += "\xC3\xA9";
  EXPECT_TRUE(identifier_problem(wide));
  EXPECT_EQ(identifier_problem(std::string("a\0b", 3)),
            "\"a\\x00b\" contains a NUL byte, which PostgreSQL identifiers cannot hold");
  EXPECT_EQ(identifier_problem(""), "the name is empty; PostgreSQL identifiers cannot be empty");
}

TEST(Identifier, DisplayIsBoundedAndCutsAtACharacterBoundary) {
  EXPECT_EQ(identifier_for_display("tab\there"), "\"tab\\x09here\"");
  std::string name = std::string(99, 'a') + "\xC3\xA9" + std::string(1000, 'b');
  EXPECT_EQ(identifier_for_display(name), "\"" + std::string(99, 'a') + "...\"");
}

}  // namespace
}  // namespace sluice
