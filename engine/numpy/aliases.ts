/** Alternative names numpy itself or lax users use for the same functions. */
export { subtract, multiply, divide, negative, power, abs as absolute } from "./elementwise.js";
