// DOCX text with libzip (from the memory buffer) and pugixml.
//
// Zip-bomb defence, in order: the entry count is read from the archive's own directory before libzip
// allocates anything per entry; each part's declared uncompressed size is checked against what is left
// of the budget; reading stops as soon as the budget is exceeded, whatever the archive declared.

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <zip.h>
#include <pugixml.hpp>

#include "extract_common.hpp"
#include "ivr/knowledge/extractors.hpp"
#include "zip_directory.hpp"

namespace ivr::knowledge {
namespace {

ExtractError docx_error(std::string reason) {
  return {Errc::unprocessable, std::move(reason)};
}

ExtractError damaged() {
  return docx_error("the DOCX archive is damaged");
}

ExtractError bomb(std::size_t budget) {
  return docx_error("the DOCX is too large once uncompressed (more than " + detail::human_size(budget) +
                    "; a zip bomb?)");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- archive ----

struct ZipDeleter {
  void operator()(zip_t* z) const noexcept { zip_discard(z); }
};
struct ZipFileDeleter {
  void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDeleter>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileDeleter>;

class Archive {
 public:
  // `bytes` must outlive the archive: zip_source_buffer does not copy.
  static ExtractResult<Archive> open(std::string_view bytes) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    zip_error_fini(&error);
    if (!source) return damaged();
    zip_error_init(&error);
    zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
    zip_error_fini(&error);
    if (!archive) {
      zip_source_free(source);  // still ours when the open failed
      return damaged();
    }
    return Archive(ZipPtr(archive));
  }

  // The uncompressed content of `name`, nullopt when there is no such entry. `budget` is what may still
  // be read; it is decreased by what was read.
  ExtractResult<std::optional<std::string>> read(const std::string& name, std::size_t& budget) {
    const zip_int64_t index = zip_name_locate(zip_.get(), name.c_str(), 0);
    if (index < 0) return std::optional<std::string>();
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &st) != 0) return damaged();
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      return docx_error("the DOCX is password-protected");
    }
    if ((st.valid & ZIP_STAT_SIZE) && st.size > budget) return bomb(total_budget_);
    ZipFilePtr file(zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0));
    if (!file) return damaged();  // unsupported compression method, broken local header…
    std::string out;
    if (st.valid & ZIP_STAT_SIZE) out.reserve(static_cast<std::size_t>(st.size));
    char buffer[64 * 1024];
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buffer, sizeof buffer);
      if (n < 0) return damaged();  // corrupt deflate stream, CRC mismatch
      if (n == 0) break;
      if (static_cast<std::size_t>(n) > budget) return bomb(total_budget_);
      budget -= static_cast<std::size_t>(n);
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return std::optional<std::string>(std::move(out));
  }

  void set_total_budget(std::size_t total) { total_budget_ = total; }

 private:
  explicit Archive(ZipPtr zip) : zip_(std::move(zip)) {}

  ZipPtr zip_;
  std::size_t total_budget_ = 0;
};

// ---- WordprocessingML ----

// Element names without their namespace prefix: Word writes "w:", other producers may not.
std::string_view local_name(const pugi::xml_node& node) {
  const std::string_view name = node.name();
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (local_name(c) == name) return c;
  }
  return {};
}

// The w:val attribute, whatever its prefix.
std::string_view val(const pugi::xml_node& node) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view name = a.name();
    if (name == "w:val" || name == "val" || name.ends_with(":val")) return a.value();
  }
  return {};
}

std::string_view attribute(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    std::string_view name = a.name();
    const auto colon = name.find(':');
    if (colon != std::string_view::npos) name = name.substr(colon + 1);
    if (name == local) return a.value();
  }
  return {};
}

bool is_heading_name(std::string_view name) {
  const std::string n = lower(name);
  return n.starts_with("heading") || n == "title";
}

bool is_heading_outline(std::string_view level) {
  // Outline levels 0..8 are headings; 9 is body text.
  return level.size() == 1 && level[0] >= '0' && level[0] <= '8';
}

// Paragraph styles from word/styles.xml. Word writes built-in style names in English ("heading 1",
// "Title") whatever the UI language, while style ids are localised ("Ttulo1" in Portuguese).
class HeadingStyles {
 public:
  void load(const pugi::xml_node& styles) {
    for (pugi::xml_node s = styles.first_child(); s; s = s.next_sibling()) {
      if (local_name(s) != "style") continue;
      Style style;
      style.name = std::string(val(child(s, "name")));
      style.based_on = std::string(val(child(s, "basedOn")));
      if (const pugi::xml_node outline = child(child(s, "pPr"), "outlineLvl")) {
        style.outline = std::string(val(outline));
      }
      styles_[std::string(attribute(s, "styleId"))] = std::move(style);
    }
  }

  bool is_heading(std::string_view id) const {
    if (id.empty()) return false;
    auto it = styles_.find(std::string(id));
    if (it == styles_.end()) return is_heading_name(id);  // no styles part: trust conventional ids
    if (is_heading_name(it->second.name) || is_heading_name(id)) return true;
    // Outline levels are inherited through basedOn (bounded: the chain may loop in a broken file).
    for (int depth = 0; depth < 16 && it != styles_.end(); ++depth) {
      if (it->second.outline) return is_heading_outline(*it->second.outline);
      it = styles_.find(it->second.based_on);
    }
    return false;
  }

 private:
  struct Style {
    std::string name;
    std::string based_on;
    std::optional<std::string> outline;
  };
  std::map<std::string, Style, std::less<>> styles_;
};

class DocxWalker {
 public:
  DocxWalker(const HeadingStyles& styles, std::size_t max_text) : styles_(styles), max_text_(max_text) {}

  // Block-level content: body, header/footer, cell, content control, text box.
  void blocks(const pugi::xml_node& container) {
    for (pugi::xml_node n = container.first_child(); n; n = n.next_sibling()) {
      const std::string_view name = local_name(n);
      if (name == "p") {
        paragraph(n);
      } else if (name == "tbl") {
        table(n);
      } else if (name == "sdt") {
        blocks(child(n, "sdtContent"));
      } else if (name == "customXml" || name == "ins" || name == "smartTag") {
        blocks(n);
      }
      // sectPr, bookmarks, deleted blocks (w:del), proofing marks: no text.
    }
  }

  std::vector<Section> finish() {
    flush();
    return std::move(sections_);
  }

  bool too_much_text() const { return total_ > max_text_; }

 private:
  void paragraph(const pugi::xml_node& p) {
    std::string text;
    std::vector<pugi::xml_node> boxes;
    inline_text(p, text, boxes);
    const pugi::xml_node ppr = child(p, "pPr");
    const bool heading =
        styles_.is_heading(val(child(ppr, "pStyle"))) || is_heading_outline(val(child(ppr, "outlineLvl")));
    if (heading && has_text(text)) {
      flush();
      heading_ = collapse(text);
    }
    add_block(std::move(text));
    // Text boxes anchored in the paragraph come after it.
    for (const pugi::xml_node& box : boxes) blocks(box);
  }

  void table(const pugi::xml_node& tbl) {
    std::string rows;
    for (pugi::xml_node tr = tbl.first_child(); tr; tr = tr.next_sibling()) {
      if (local_name(tr) != "tr") continue;
      std::string row;
      bool any = false;
      bool first = true;
      for (pugi::xml_node tc = tr.first_child(); tc; tc = tc.next_sibling()) {
        if (local_name(tc) != "tc") continue;
        const std::string cell = collapse(cell_text(tc));
        if (!first) row += " | ";
        row += cell;
        first = false;
        any = any || !cell.empty();
      }
      if (!any) continue;
      if (!rows.empty()) rows += '\n';
      rows += row;
    }
    add_block(std::move(rows));
  }

  // A cell's paragraphs (and nested tables) on one line.
  std::string cell_text(const pugi::xml_node& node) {
    std::string out;
    for (pugi::xml_node n = node.first_child(); n; n = n.next_sibling()) {
      const std::string_view name = local_name(n);
      std::string part;
      if (name == "p") {
        std::vector<pugi::xml_node> boxes;
        inline_text(n, part, boxes);
        for (const pugi::xml_node& box : boxes) part += " " + cell_text(box);
      } else if (name == "tbl" || name == "tr" || name == "tc" || name == "sdt" || name == "sdtContent" ||
                 name == "customXml") {
        part = cell_text(n);
      }
      if (has_text(part)) {
        if (!out.empty()) out += ' ';
        out += part;
      }
    }
    return out;
  }

  // Runs of a paragraph in document order. Text boxes are collected, not descended into.
  void inline_text(const pugi::xml_node& node, std::string& out, std::vector<pugi::xml_node>& boxes) {
    for (pugi::xml_node n = node.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      const std::string_view name = local_name(n);
      if (name == "t") {
        out += n.child_value();
      } else if (name == "tab" || name == "ptab") {
        out += '\t';
      } else if (name == "br" || name == "cr") {
        out += '\n';
      } else if (name == "noBreakHyphen") {
        out += '-';
      } else if (name == "txbxContent") {
        boxes.push_back(n);
      } else if (name == "pPr" || name == "rPr" || name == "del" || name == "instrText" ||
                 name == "delText" || name == "Fallback" || name == "footnoteReference" ||
                 name == "endnoteReference" || name == "commentReference") {
        // Properties, deleted revisions, field codes, and the duplicate of mc:AlternateContent's choice.
      } else {
        inline_text(n, out,
                    boxes);  // r, hyperlink, ins, fldSimple, smartTag, sdt, drawing, AlternateContent…
      }
    }
  }

  void add_block(std::string text) {
    if (!has_text(text)) return;
    total_ += text.size();
    blocks_.push_back(std::move(text));
  }

  void flush() {
    if (!blocks_.empty()) {
      std::string text;
      for (const std::string& b : blocks_) {
        if (!text.empty()) text += "\n\n";
        text += b;
      }
      sections_.push_back(Section{std::move(text), 0, heading_});
    }
    blocks_.clear();
  }

  static bool has_text(std::string_view s) {
    return s.find_first_not_of(" \t\n\r") != std::string_view::npos;
  }

  static std::string collapse(std::string_view s) {
    std::string out;
    for (char c : s) {
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (space) {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

  const HeadingStyles& styles_;
  std::size_t max_text_;
  std::size_t total_ = 0;
  std::vector<Section> sections_;
  std::vector<std::string> blocks_;
  std::string heading_;
};

constexpr unsigned kParseOptions = pugi::parse_default | pugi::parse_ws_pcdata;  // keep " " in <w:t>

}  // namespace

ExtractResult<std::vector<Section>> extract_docx(std::string_view bytes, const ExtractLimits& limits) {
  const auto directory = detail::read_zip_directory(bytes);
  if (!directory) return damaged();
  if (directory->declared_entries > limits.max_zip_entries) {
    return docx_error("the DOCX archive has too many entries (" +
                      std::to_string(directory->declared_entries) + "; the limit is " +
                      std::to_string(limits.max_zip_entries) + ")");
  }
  auto archive = Archive::open(bytes);
  if (!archive) return archive.error();
  archive->set_total_budget(limits.max_uncompressed_bytes);
  std::size_t budget = limits.max_uncompressed_bytes;

  auto document_xml = archive->read("word/document.xml", budget);
  if (!document_xml) return document_xml.error();
  if (!*document_xml) return docx_error("the DOCX has no word/document.xml");

  HeadingStyles styles;
  auto styles_xml = archive->read("word/styles.xml", budget);
  if (!styles_xml) return styles_xml.error();
  if (*styles_xml) {
    pugi::xml_document doc;
    // A broken styles part only loses the localised heading names.
    if (doc.load_buffer((*styles_xml)->data(), (*styles_xml)->size(), kParseOptions)) {
      styles.load(doc.document_element());
    }
  }

  pugi::xml_document doc;
  if (!doc.load_buffer((**document_xml).data(), (**document_xml).size(), kParseOptions)) {
    return docx_error("the DOCX document.xml is not valid XML");
  }
  DocxWalker walker(styles, limits.max_text_bytes);
  walker.blocks(child(doc.document_element(), "body"));
  if (walker.too_much_text()) return detail::too_much_text(limits);
  std::vector<Section> sections = walker.finish();

  if (limits.docx_headers_footers) {
    // Headers, then footers, each in part-name order ("word/header1.xml", "word/header2.xml"…; Word
    // numbers them in creation order).
    std::vector<std::string> parts;
    for (const std::string_view prefix : {"word/header", "word/footer"}) {
      std::vector<std::string> found;
      for (const std::string& name : directory->names) {
        if (name.starts_with(prefix) && name.ends_with(".xml") && name.find('/', 5) == std::string::npos) {
          found.push_back(name);
        }
      }
      std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;  // header2 before header10
      });
      parts.insert(parts.end(), found.begin(), found.end());
    }
    std::set<std::string> seen;
    for (const std::string& name : parts) {
      auto xml = archive->read(name, budget);
      if (!xml) return xml.error();
      if (!*xml) continue;
      pugi::xml_document part;
      if (!part.load_buffer((*xml)->data(), (*xml)->size(), kParseOptions)) continue;  // optional content
      DocxWalker part_walker(styles, limits.max_text_bytes);
      part_walker.blocks(part.document_element());
      for (Section& s : part_walker.finish()) {
        s.heading.clear();
        if (seen.insert(s.text).second) sections.push_back(std::move(s));
      }
    }
  }

  std::size_t total = 0;
  for (const Section& s : sections) total += s.text.size();
  if (total > limits.max_text_bytes) return detail::too_much_text(limits);
  if (sections.empty()) return detail::no_text();
  return sections;
}

}  // namespace ivr::knowledge
