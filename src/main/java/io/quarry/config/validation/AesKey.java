package io.quarry.config.validation;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Base64 of a 256-bit AES key; also on the elements of a list of keys. */
@Target({
  ElementType.FIELD,
  ElementType.PARAMETER,
  ElementType.RECORD_COMPONENT,
  ElementType.TYPE_USE
})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = AesKeyValidator.class)
public @interface AesKey {
  String message() default
      "must be the Base64 encoding of 32 random bytes (e.g. `openssl rand -base64 32`)";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};
}
