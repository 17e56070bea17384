package io.quarry.bus;

import java.util.OptionalLong;

/** Reading values of AMQP headers that another publisher may have set to anything. */
public final class HeaderValues {

  private HeaderValues() {}

  /**
   * The whole number a header holds, as AMQP carries it (a number) or as text; empty when the
   * header is absent or holds anything else.
   */
  public static OptionalLong wholeNumber(Object header) {
    if (header instanceof Number number) {
      return number instanceof Double || number instanceof Float
          ? OptionalLong.empty()
          : OptionalLong.of(number.longValue());
    }
    if (header == null) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(header.toString().trim()));
    } catch (NumberFormatException notANumber) {
      return OptionalLong.empty();
    }
  }
}
