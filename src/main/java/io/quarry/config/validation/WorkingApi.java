package io.quarry.config.validation;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A stream whose API settings can work: its JSON Pointers parse and its pagination style has the
 * settings it needs. The violation names the setting ({@code
 * quarry.streams[posts].pagination.next-url-path}).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = WorkingApiValidator.class)
public @interface WorkingApi {
  String message() default "cannot work";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};
}
