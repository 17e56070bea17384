package io.quarry.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ItemDaysTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2025-03-01T12:00:00Z",
        "2025-03-01T23:59:59.999999999Z",
        "2025-03-01T00:00Z",
        "2024-02-29T10:15:30.5Z",
        "2025-03-01T23:30:00-02:00",
        "2025-03-01T00:30:00+01:00",
        "2025-03-01T12:00:00+00:00",
        "2025-02-29T10:00:00Z",
        "2025-04-31T10:00:00Z",
        "2025-13-01T10:00:00Z",
        "2025-00-01T10:00:00Z",
        "2025-03-00T10:00:00Z",
        "2025-03-01T24:00:00Z",
        "2025-03-01T12:60:00Z",
        "2025-03-01T12:00:60Z",
        "2025-03-01T12:00:00.Z",
        "2025-03-01T12:00:00.1234567890Z",
        "2025-03-01T12:00:0Z",
        "2025-03-01 12:00:00Z",
        "2025-03-01T12:00:00",
        "2025-03-01",
        "+12025-03-01T12:00:00Z",
        "2025-3-01T12:00:00Z",
        "2025-03-01T12:00:00z",
        "yesterday",
        "",
        "２０２５-03-01T12:00:00Z"
      })
  void agreesWithTheFullParser(String text) {
    assertThat(ItemDays.parse(text)).as(text).isEqualTo(reference(text));
  }

  @Test
  void agreesWithTheFullParserOnRandomInstants() {
    Random random = new Random(42);
    for (int i = 0; i < 20_000; i++) {
      Instant instant =
          Instant.ofEpochSecond(
              random.nextLong(0, 253_402_300_799L),
              random.nextInt(3) == 0 ? 0 : random.nextInt(1_000_000_000));
      String text = instant.toString();
      assertThat(ItemDays.parse(text)).as(text).isEqualTo(reference(text));
    }
  }

  @Test
  void readsAnOffsetIntoTheUtcDayAndNothingIntoNull() {
    assertThat(ItemDays.parse("2025-03-01T01:00:00+02:00")).isEqualTo(LocalDate.of(2025, 2, 28));
    assertThat(ItemDays.parse(null)).isNull();
  }

  private static LocalDate reference(String text) {
    try {
      return OffsetDateTime.parse(text).withOffsetSameInstant(ZoneOffset.UTC).toLocalDate();
    } catch (DateTimeException e) {
      return null;
    }
  }
}
