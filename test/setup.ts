// @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
