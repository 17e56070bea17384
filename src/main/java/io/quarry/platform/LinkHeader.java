package io.quarry.platform;

/** Reads the {@code rel="next"} target of a {@code Link} header (RFC 8288). */
final class LinkHeader {

  private LinkHeader() {}

  /** The URL of the next page, or null when the header is absent or has no next link. */
  static String next(String header) {
    if (header == null) {
      return null;
    }
    int at = 0;
    while (true) {
      int open = header.indexOf('<', at);
      int close = open < 0 ? -1 : header.indexOf('>', open);
      if (close < 0) {
        return null;
      }
      int end = header.indexOf('<', close);
      String parameters = header.substring(close + 1, end < 0 ? header.length() : end);
      for (String parameter : parameters.split(";")) {
        String[] pair = parameter.trim().split("=", 2);
        if (pair.length == 2 && pair[0].trim().equalsIgnoreCase("rel")) {
          String value = pair[1].trim().replaceAll("^\"|\",?$|,$", "").trim();
          for (String rel : value.split("\\s+")) {
            if (rel.equalsIgnoreCase("next")) {
              return header.substring(open + 1, close).trim();
            }
          }
        }
      }
      if (end < 0) {
        return null;
      }
      at = end;
    }
  }
}
