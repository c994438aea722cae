// A small Markdown renderer that builds DOM nodes and text only: nothing a model writes is
// ever parsed as HTML, so a <script> or onerror= in an answer stays visible text.
// Links keep only http(s) addresses; anything else (javascript:, data:) stays text.
"use strict";
(function () {
  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeHref(url) {
    try {
      const parsed = new URL(url, "http://invalid.invalid/");
      if ((parsed.protocol === "http:" || parsed.protocol === "https:") && /^https?:\/\//i.test(url)) {
        return parsed.href;
      }
    } catch (e) {
      /* not a URL: shown as text */
    }
    return null;
  }

  function link(text, url) {
    const href = safeHref(url);
    if (!href) return document.createTextNode(text === url ? url : text + " (" + url + ")");
    const a = el("a", text);
    a.href = href;
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
    return a;
  }

  // Inline: `code`, **strong**, *em* / _em_, [text](url), bare http(s) URLs.
  const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\b_([^_]+)_\b|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

  function inline(text, parent) {
    let rest = text;
    while (rest) {
      const m = INLINE.exec(rest);
      if (!m) {
        parent.appendChild(document.createTextNode(rest));
        return;
      }
      if (m.index > 0) parent.appendChild(document.createTextNode(rest.slice(0, m.index)));
      if (m[1] !== undefined) parent.appendChild(el("code", m[1]));
      else if (m[2] !== undefined) inline(m[2], parent.appendChild(el("strong")));
      else if (m[3] !== undefined) inline(m[3], parent.appendChild(el("em")));
      else if (m[4] !== undefined) inline(m[4], parent.appendChild(el("em")));
      else if (m[5] !== undefined) parent.appendChild(link(m[5], m[6]));
      else parent.appendChild(link(m[7], m[7]));
      rest = rest.slice(m.index + m[0].length);
    }
  }

  const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;

  function render(source, container) {
    container.replaceChildren();
    const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    let para = [];
    const flush = () => {
      if (para.length) inline(para.join(" "), container.appendChild(el("p")));
      para = [];
    };
    while (i < lines.length) {
      const line = lines[i];
      const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
      if (fence) {
        flush();
        const body = [];
        i += 1;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
        i += 1;
        const pre = container.appendChild(el("pre"));
        const code = pre.appendChild(el("code", body.join("\n")));
        if (fence[2]) code.dataset.lang = fence[2];
        continue;
      }
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        flush();
        // Headings inside an answer sit below the page's own (h3 and down).
        const level = Math.min(6, heading[1].length + 3);
        inline(heading[2].replace(/\s#+\s*$/, ""), container.appendChild(el("h" + level)));
        i += 1;
        continue;
      }
      if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
        flush();
        container.appendChild(el("hr"));
        i += 1;
        continue;
      }
      if (/^\s*>/.test(line)) {
        flush();
        const quoted = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
        render(quoted.join("\n"), container.appendChild(el("blockquote")));
        continue;
      }
      const item = LIST_ITEM.exec(line);
      if (item) {
        flush();
        const ordered = /\d/.test(item[2]);
        const list = container.appendChild(el(ordered ? "ol" : "ul"));
        while (i < lines.length) {
          const m = LIST_ITEM.exec(lines[i]);
          if (m) {
            inline(m[3], list.appendChild(el("li")));
          } else if (/^\s{2,}\S/.test(lines[i]) && list.lastChild) {
            list.lastChild.appendChild(document.createTextNode(" "));
            inline(lines[i].trim(), list.lastChild);
          } else {
            break;
          }
          i += 1;
        }
        continue;
      }
      if (!line.trim()) {
        flush();
      } else {
        para.push(line.trim());
      }
      i += 1;
    }
    flush();
  }

  window.ParleyMarkdown = { render: render, safeHref: safeHref };
})();
