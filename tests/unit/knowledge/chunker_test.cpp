#include "ivr/knowledge/chunker.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>
#include <string>

namespace ivr::knowledge {
namespace {

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// The text of the first `n` words of `text`, separators included.
std::string leading_words(std::string_view text, std::size_t n) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    pos = text.find_first_not_of(" \n", pos);
    pos = text.find_first_of(" \n", pos);
    if (pos == std::string_view::npos) return std::string(text);
  }
  return std::string(text.substr(0, pos));
}

// "Wnn" → nn, "wnn." → nn.
int id_of(std::string w) {
  while (!w.empty() && (w.back() == '.' || w.back() == ',')) w.pop_back();
  return std::stoi(w.substr(1));
}

TEST(EstimateTokens, CeilOfCodePointsOverFour) {
  EXPECT_EQ(estimate_tokens(""), 0u);
  EXPECT_EQ(estimate_tokens("a"), 1u);
  EXPECT_EQ(estimate_tokens("abcd"), 1u);
  EXPECT_EQ(estimate_tokens("abcde"), 2u);
  EXPECT_EQ(estimate_tokens("ação"), 1u);  // 4 code points, 6 bytes
  EXPECT_EQ(estimate_tokens(std::string(4000, 'x')), 1000u);
  EXPECT_EQ(estimate_tokens("😀😀😀😀😀"), 2u);
}

TEST(Chunker, EmptyAndSmallInputs) {
  EXPECT_TRUE(chunk_sections({}).empty());
  EXPECT_TRUE(chunk_sections({{"", 1, {}}, {"  \n ", 2, {}}}).empty());
  const auto chunks = chunk_sections({{"Uma frase curta.\n\nOutro parágrafo.", 3, "Título"}});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Uma frase curta.\n\nOutro parágrafo.");
  EXPECT_EQ(chunks[0].page, 3);
  EXPECT_EQ(chunks[0].heading, "Título");
  EXPECT_EQ(chunks[0].tokens, estimate_tokens(chunks[0].text));
}

TEST(Chunker, SectionsJoinedAsParagraphs) {
  const auto chunks = chunk_sections({{"página um", 1, {}}, {"página dois", 2, {}}});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "página um\n\npágina dois");
  EXPECT_EQ(chunks[0].page, 1);
}

// A sentence of `n` words "wK" numbered from `first`, capitalised, ending with ".".
std::string sentence(int& next, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ' ';
    s += (i == 0 ? "W" : "w") + std::to_string(next++);
  }
  return s + ".";
}

TEST(Chunker, PrefersParagraphBreaksWhenHalfFull) {
  int next = 10;
  const std::string p1 = sentence(next, 15) + " " + sentence(next, 15);
  const std::string p2 = sentence(next, 15) + " " + sentence(next, 15);
  const std::string p3_first = sentence(next, 15);
  const std::string p3 = p3_first + " " + sentence(next, 15);
  // Room for p1, p2 and p3's first sentence: the later sentence end loses to the paragraph break.
  const std::size_t target = estimate_tokens(p1 + "\n\n" + p2 + "\n\n" + p3_first) + 1;
  const auto chunks = chunk_sections({{p1 + "\n\n" + p2 + "\n\n" + p3, 0, {}}}, {target, 0});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, p1 + "\n\n" + p2);
  EXPECT_EQ(chunks[1].text, p3);
}

TEST(Chunker, SentenceBreakWhenTheParagraphBreakIsTooEarly) {
  int next = 10;
  const std::string intro = sentence(next, 3);
  std::string body;
  for (int i = 0; i < 30; ++i) body += (i ? " " : "") + sentence(next, 8);
  const auto chunks = chunk_sections({{intro + "\n\n" + body, 0, {}}}, {100, 0});
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_GT(chunks[0].tokens, 75u) << "the chunk should fill up to a late sentence end";
  EXPECT_EQ(chunks[0].text.back(), '.');
  EXPECT_EQ(chunks[1].text.front(), 'W') << "the next chunk starts a sentence";
}

TEST(Chunker, AbbreviationsDoNotEndSentences) {
  // Sized so that "Dr." is the last word with a dot that fits: the chunk must end at the real sentence
  // end before it, not after "Dr.".
  int next = 10;
  const std::string first = sentence(next, 30);
  std::string second = "Consulte o Dr. Silva";  // continues past the chunk
  for (int i = 0; i < 60; ++i) second += " w" + std::to_string(next++);
  second += ".";
  const std::size_t target = estimate_tokens(first + " Consulte o Dr.") + 2;
  const auto chunks = chunk_sections({{first + " " + second, 0, {}}}, {target, 0});
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, first);
  EXPECT_TRUE(chunks[1].text.starts_with("Consulte o Dr. Silva"));
}

TEST(Chunker, LongSentencesBreakBetweenWordsNeverInside) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += (i ? " palavra" : "palavra") + std::to_string(i);
  const auto chunks = chunk_sections({{text, 0, {}}}, {50, 10});
  ASSERT_GT(chunks.size(), 5u);
  for (const Chunk& c : chunks) {
    EXPECT_LE(c.tokens, 50u);
    for (const std::string& w : words_of(c.text)) EXPECT_TRUE(w.starts_with("palavra")) << w;
  }
}

TEST(Chunker, WordsLongerThanAChunkAreCut) {
  const std::string giant(1000, 'x');
  const std::string text = "antes " + giant + "ção depois";
  const auto chunks = chunk_sections({{text, 0, {}}}, {50, 0});
  std::string joined;
  for (const Chunk& c : chunks) {
    EXPECT_LE(c.tokens, 50u);
    EXPECT_EQ(c.tokens, estimate_tokens(c.text));
    joined += c.text;
  }
  // Without overlap the pieces put back together are the text (the cuts are the only separators lost).
  EXPECT_EQ(joined.substr(0, 5), "antes");
  EXPECT_NE(joined.find(giant + "ção"), std::string::npos);
}

TEST(Chunker, OverlapStartsAtASentenceAndFitsTheBudget) {
  int next = 10;
  std::string text;
  for (int i = 0; i < 40; ++i) text += (i ? " " : "") + sentence(next, 6);  // ≈ 10 tokens each
  const auto chunks = chunk_sections({{text, 0, {}}}, {100, 30});
  ASSERT_GT(chunks.size(), 3u);
  for (std::size_t c = 0; c + 1 < chunks.size(); ++c) {
    const auto prev = words_of(chunks[c].text);
    const auto cur = words_of(chunks[c + 1].text);
    const int last = id_of(prev.back());
    ASSERT_LT(id_of(cur.front()), last) << "chunks overlap";
    EXPECT_EQ(cur.front()[0], 'W') << "the overlap starts a sentence";
    std::string overlap;
    for (const std::string& w : cur) {
      if (id_of(w) > last) break;
      overlap += (overlap.empty() ? "" : " ") + w;
    }
    EXPECT_LE(estimate_tokens(overlap), 30u);
    EXPECT_GE(estimate_tokens(overlap), 15u) << "the overlap uses most of its budget";
    EXPECT_TRUE(chunks[c].text.ends_with(overlap));
  }
}

TEST(Chunker, NoOverlapAcrossAHeadingChange) {
  int next = 10;
  std::string a;
  std::string b;
  for (int i = 0; i < 5; ++i) a += (i ? " " : "") + sentence(next, 6);
  for (int i = 0; i < 5; ++i) b += (i ? " " : "") + sentence(next, 6);
  // Both fit alone, not together; the overlap budget could hold a sentence of `a`.
  const std::size_t target = std::max(estimate_tokens(a), estimate_tokens(b)) + 10;
  const auto chunks = chunk_sections({{a, 0, "Horários"}, {b, 0, "Endereço"}}, {target, 20});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, a);
  EXPECT_EQ(chunks[0].heading, "Horários");
  EXPECT_EQ(chunks[1].text, b);
  EXPECT_EQ(chunks[1].heading, "Endereço");
}

TEST(Chunker, PageOfTheFirstWord) {
  int next = 10;
  std::vector<Section> sections;
  for (int p = 1; p <= 6; ++p) sections.push_back({sentence(next, 12) + " " + sentence(next, 12), p, {}});
  const auto chunks = chunk_sections(sections, {60, 20});
  ASSERT_GT(chunks.size(), 3u);
  // Map each word to its page, then check every chunk's page is its first word's.
  std::map<int, int> page_of;
  for (const Section& s : sections) {
    for (const std::string& w : words_of(s.text)) page_of[id_of(w)] = s.page;
  }
  for (const Chunk& c : chunks) EXPECT_EQ(c.page, page_of[id_of(words_of(c.text).front())]) << c.text;
}

TEST(Chunker, DefaultSizes) {
  int next = 10;
  std::string text;
  for (int p = 0; p < 40; ++p) {
    for (int s = 0; s < 8; ++s) text += (s ? " " : "") + sentence(next, 12);
    text += "\n\n";
  }
  const auto chunks = chunk_sections({{text, 0, {}}});
  ASSERT_GT(chunks.size(), 5u);
  for (std::size_t c = 0; c + 1 < chunks.size(); ++c) {
    EXPECT_LE(chunks[c].tokens, 1000u);
    EXPECT_GE(chunks[c].tokens, 500u);
  }
}

// ---- properties over generated documents ----

struct Generated {
  std::vector<Section> sections;
  std::vector<int> section_of;  // per word id
  int words = 0;
};

// Words "w<id>" (ids from 0 in order), sentences capitalised and ended by ".", lines, paragraphs,
// sections with or without pages and headings.
Generated generate(std::mt19937& rng) {
  Generated g;
  const int sections = 1 + static_cast<int>(rng() % 5);
  const bool paged = rng() % 2 == 0;
  int heading = 0;
  for (int s = 0; s < sections; ++s) {
    if (rng() % 3 == 0) ++heading;
    Section section{"", paged ? s + 1 : 0, heading == 0 ? "" : "Seção " + std::to_string(heading)};
    const int paragraphs = 1 + static_cast<int>(rng() % 4);
    for (int p = 0; p < paragraphs; ++p) {
      if (p > 0) section.text += "\n\n";
      const int lines = 1 + static_cast<int>(rng() % 3);
      for (int l = 0; l < lines; ++l) {
        if (l > 0) section.text += "\n";
        const int sentences = 1 + static_cast<int>(rng() % 5);
        for (int k = 0; k < sentences; ++k) {
          if (k > 0) section.text += " ";
          const int words = 1 + static_cast<int>(rng() % 40);
          for (int w = 0; w < words; ++w) {
            if (w > 0) section.text += " ";
            section.text += (w == 0 ? "W" : "w") + std::to_string(g.words++);
            g.section_of.push_back(static_cast<int>(g.sections.size()));
            if (rng() % 17 == 0) section.text += ",";
          }
          section.text += ".";
        }
      }
    }
    g.sections.push_back(std::move(section));
  }
  return g;
}

TEST(Chunker, PropertiesOverGeneratedDocuments) {
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    const Generated g = generate(rng);
    ChunkerOptions options;
    options.target_tokens = 20 + rng() % 300;
    options.overlap_tokens = rng() % (options.target_tokens / 2 + 1);
    const auto chunks = chunk_sections(g.sections, options);
    ASSERT_FALSE(chunks.empty());
    SCOPED_TRACE("round " + std::to_string(round) + " target " + std::to_string(options.target_tokens) +
                 " overlap " + std::to_string(options.overlap_tokens));
    EXPECT_EQ(chunks, chunk_sections(g.sections, options)) << "deterministic";

    int previous_first = -1;
    int previous_last = -1;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
      const Chunk& chunk = chunks[c];
      ASSERT_FALSE(chunk.text.empty());
      EXPECT_LE(chunk.tokens, options.target_tokens);
      EXPECT_EQ(chunk.tokens, estimate_tokens(chunk.text));
      EXPECT_NE(chunk.text.front(), ' ');
      EXPECT_NE(chunk.text.back(), ' ');
      EXPECT_NE(chunk.text.back(), '\n');
      // Whole words, consecutive ids (in order, none missing inside a chunk).
      const auto words = words_of(chunk.text);
      const int first = id_of(words.front());
      for (std::size_t i = 0; i < words.size(); ++i) ASSERT_EQ(id_of(words[i]), first + static_cast<int>(i));
      const int last = first + static_cast<int>(words.size()) - 1;
      // Coverage and progress: the first chunk starts at word 0, each next one starts after the previous
      // start, leaves no gap and reaches further.
      if (c == 0) {
        EXPECT_EQ(first, 0);
      }
      if (c > 0) {
        EXPECT_GT(first, previous_first);
        EXPECT_LE(first, previous_last + 1);
        EXPECT_GT(last, previous_last);
        if (first <= previous_last) {
          // Overlap: within budget, and never reaching back across a heading change.
          const std::string overlap =
              leading_words(chunk.text, static_cast<std::size_t>(previous_last - first + 1));
          EXPECT_LE(estimate_tokens(overlap), options.overlap_tokens);
          EXPECT_TRUE(chunks[c - 1].text.ends_with(overlap));
          const std::string& heading = g.sections[g.section_of[previous_last + 1]].heading;
          for (int w = first; w <= previous_last; ++w)
            EXPECT_EQ(g.sections[g.section_of[w]].heading, heading);
        }
      }
      // Separators are the text's own: a chunk within one section is a substring of it.
      if (g.section_of[first] == g.section_of[last]) {
        EXPECT_NE(g.sections[g.section_of[first]].text.find(chunk.text), std::string::npos);
      }
      // Page and heading of the first word.
      EXPECT_EQ(chunk.page, g.sections[g.section_of[first]].page);
      EXPECT_EQ(chunk.heading, g.sections[g.section_of[first]].heading);
      // A chunk ends mid-sentence only when no sentence or line ends among its new words (those after
      // the overlap: it must reach past the previous chunk).
      if (c + 1 < chunks.size() && !words.back().ends_with('.')) {
        for (std::size_t i = 0; i + 1 < words.size(); ++i) {
          if (id_of(words[i]) <= previous_last) continue;
          EXPECT_FALSE(words[i].ends_with('.')) << "ended mid-sentence although " << words[i] << " ends one";
        }
      }
      previous_first = first;
      previous_last = last;
    }
    EXPECT_EQ(previous_last, g.words - 1) << "every word is in a chunk";
  }
}

}  // namespace
}  // namespace ivr::knowledge
