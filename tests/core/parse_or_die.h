// JSON that a test wrote itself, parsed: a malformed text fails the calling test
// (and yields a null document) instead of hiding behind a later assertion.
#pragma once

#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "core/json.h"

namespace ledgerflow::core {

inline json::Document ParseOrDie(const std::string& text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString() << "\n" << text;
  return doc.ok() ? std::move(doc).value() : json::Document();
}

}  // namespace ledgerflow::core
