/** An XML element: its name, child elements and direct text. */
export interface XmlElement {
  /** Tag name, without any namespace prefix. */
  readonly name: string;
  /** Child elements, in document order. */
  readonly children: XmlElement[];
  /** Concatenated, entity-decoded text directly inside this element. */
  text: string;
}

/**
 * Parses the small, well-formed XML documents of AWS Query APIs into a tree.
 * Attributes, comments, processing instructions and doctype are skipped;
 * CDATA counts as text. Throws on unbalanced tags.
 */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt === -1 ? xml.length : lt;
    if (textEnd > i) stack[stack.length - 1].text += decodeEntities(xml.slice(i, textEnd));
    if (lt === -1) break;
    if (xml.startsWith('<![CDATA[', lt)) {
      const end = indexOrThrow(xml, ']]>', lt);
      stack[stack.length - 1].text += xml.slice(lt + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!--', lt)) {
      i = indexOrThrow(xml, '-->', lt) + 3;
    } else if (xml.startsWith('<?', lt) || xml.startsWith('<!', lt)) {
      i = indexOrThrow(xml, '>', lt) + 1;
    } else {
      const gt = indexOrThrow(xml, '>', lt);
      const inner = xml.slice(lt + 1, gt);
      if (inner.startsWith('/')) {
        const name = localName(inner.slice(1).trim());
        const open = stack.pop();
        if (!open || open === root || open.name !== name) {
          throw new Error(`Malformed XML: unexpected </${name}>`);
        }
      } else {
        const selfClosing = inner.endsWith('/');
        const name = localName((selfClosing ? inner.slice(0, -1) : inner).trim().split(/\s/)[0]);
        const element: XmlElement = { name, children: [], text: '' };
        stack[stack.length - 1].children.push(element);
        if (!selfClosing) stack.push(element);
      }
      i = gt + 1;
    }
  }
  if (stack.length !== 1) throw new Error(`Malformed XML: <${stack[stack.length - 1].name}> is not closed`);
  return root;
}

/** The first child of `element` named `name`. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/** The element at the end of a path of child names. */
export function childPath(element: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  return names.reduce<XmlElement | undefined>((el, name) => child(el, name), element);
}

/** The trimmed text of the child `name`, or undefined when it is absent. */
export function childText(element: XmlElement | undefined, name: string): string | undefined {
  const c = child(element, name);
  return c ? c.text.trim() : undefined;
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

function indexOrThrow(xml: string, token: string, from: number): number {
  const at = xml.indexOf(token, from);
  if (at === -1) throw new Error(`Malformed XML: missing "${token}"`);
  return at;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return NAMED_ENTITIES[entity] ?? whole;
  });
}
