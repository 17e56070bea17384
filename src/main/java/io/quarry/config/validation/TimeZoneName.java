package io.quarry.config.validation;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A time zone id Java knows ({@code UTC}, {@code Europe/Berlin}). Quartz would take any string and
 * fall back to GMT without a word, so an unknown one is refused.
 */
@Target({ElementType.FIELD, ElementType.PARAMETER, ElementType.RECORD_COMPONENT})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = TimeZoneNameValidator.class)
public @interface TimeZoneName {
  String message() default "is not a known time zone id, e.g. 'UTC' or 'Europe/Berlin'";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};
}
