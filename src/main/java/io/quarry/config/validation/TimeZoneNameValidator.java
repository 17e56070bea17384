package io.quarry.config.validation;

import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import java.time.DateTimeException;
import java.time.ZoneId;

/** Checks a time zone id against the JVM's zone rules; null means the default (UTC). */
public class TimeZoneNameValidator implements ConstraintValidator<TimeZoneName, String> {

  @Override
  public boolean isValid(String value, ConstraintValidatorContext context) {
    return value == null || isKnown(value);
  }

  /** True for a region id ({@code Europe/Berlin}) or an offset id ({@code UTC}, {@code +02:00}). */
  public static boolean isKnown(String value) {
    try {
      ZoneId.of(value.trim());
      return !value.isBlank();
    } catch (DateTimeException e) {
      return false;
    }
  }
}
