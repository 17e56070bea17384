package io.quarry.platform;

/**
 * Where the user's access token goes in every request of a stream.
 *
 * @param placement a header or a query parameter
 * @param header header name for {@link TokenPlacement#HEADER} ({@code Authorization}, {@code
 *     X-Api-Key})
 * @param prefix text before the token in that header, separated by a space ({@code Bearer}, {@code
 *     token}); empty for the bare token
 * @param parameter query parameter name for {@link TokenPlacement#QUERY}
 */
public record Authentication(
    TokenPlacement placement, String header, String prefix, String parameter) {

  /** {@code Authorization: Bearer <token>}, today's default. */
  public static final String DEFAULT_HEADER = "Authorization";

  public static final String DEFAULT_PREFIX = "Bearer";

  public Authentication {
    if (placement == null) {
      throw new InvalidApiSettingException("auth.placement", "must be header or query");
    }
    prefix = prefix == null ? "" : prefix.trim();
    if (placement == TokenPlacement.HEADER && !isToken(header)) {
      throw new InvalidApiSettingException(
          "auth.header", "must be an HTTP header name (letters, digits, '-'), e.g. Authorization");
    }
    if (!prefix.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new InvalidApiSettingException(
          "auth.prefix", "must be one word of visible ASCII, e.g. Bearer or token");
    }
    if (placement == TokenPlacement.QUERY && (parameter == null || parameter.isBlank())) {
      throw new InvalidApiSettingException(
          "auth.parameter", "is required when the token goes in the query");
    }
  }

  /** The header value for a token: {@code "<prefix> <token>"}, or the token alone. */
  String headerValue(String token) {
    return prefix.isEmpty() ? token : prefix + " " + token;
  }

  private static boolean isToken(String name) {
    return name != null
        && !name.isEmpty()
        && name.chars()
            .allMatch(
                c ->
                    (c >= 'a' && c <= 'z')
                        || (c >= 'A' && c <= 'Z')
                        || (c >= '0' && c <= '9')
                        || c == '-'
                        || c == '_');
  }
}
